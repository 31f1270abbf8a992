#include "io/checkpoint.hpp"

#include <fstream>
#include <map>
#include <variant>

#include "core/error.hpp"
#include "core/log.hpp"
#include "io/mapped_tensor.hpp"
#include "io/safetensors.hpp"
#include "io/torch_zip.hpp"

namespace januskit::io {

struct Checkpoint::Impl {
  struct Entry {
    TensorInfo info;
    size_t source = 0;
    size_t index = 0;  // in the source's tensor list
  };
  std::vector<std::filesystem::path> files;
  std::vector<std::variant<SafetensorsFile, TorchZipFile>> sources;
  std::map<std::string, Entry> entries;
  uint64_t total = 0;

  const Entry& entry(const std::string& name) const {
    auto it = entries.find(name);
    if (it == entries.end()) throw Error(cat("tensor '", name, "' is not in the checkpoint (", source(), ")"));
    return it->second;
  }
  std::string source() const {
    if (files.size() == 1) return files.front().string();
    std::filesystem::path dir = files.empty() ? std::filesystem::path() : files.front().parent_path();
    for (const auto& f : files) {
      if (f.parent_path() != dir) return cat(files.size(), " weight files");
    }
    return dir.empty() ? "." : dir.string();
  }
};

namespace {

enum class Format { safetensors, torch };

// Told apart by content first (a zip or a pickle is a torch file whatever its name), then by name:
// a .bin/.pt/.pth that is neither gets torch's "not a PyTorch checkpoint" message, anything else is
// read as safetensors, whose header checks then say what is wrong.
Format detect_format(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  uint8_t head[16] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const std::span<const uint8_t> bytes(head, static_cast<size_t>(in.gcount()));
  if (looks_like_zip(bytes) || looks_like_legacy_torch(bytes)) return Format::torch;
  const std::string ext = path.extension().string();
  if (ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt") return Format::torch;
  return Format::safetensors;
}

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

int64_t TensorInfo::numel() const { return product(shape); }

Checkpoint::Checkpoint() : impl_(std::make_shared<Impl>()) {}

Checkpoint Checkpoint::open_files(const std::vector<std::filesystem::path>& files) {
  auto impl = std::make_shared<Impl>();
  impl->files = files;
  for (const auto& path : files) {
    const size_t source = impl->sources.size();
    auto add = [&](std::string name, DType dtype, std::vector<int64_t> shape, size_t index) {
      TensorInfo info{name, to_scalar_type(dtype), std::move(shape), path, 0};
      info.nbytes = static_cast<uint64_t>(info.numel()) * static_cast<uint64_t>(dtype_size(dtype));
      impl->total += info.nbytes;
      auto [it, inserted] = impl->entries.emplace(name, Impl::Entry{std::move(info), source, index});
      if (!inserted) {
        throw FileError(path.string(), cat("tensor '", name, "' is also in ", it->second.info.file.string(),
                                           "; a checkpoint names each tensor once (are two models mixed in one folder?)"));
      }
    };
    if (detect_format(path) == Format::torch) {
      TorchZipFile f = TorchZipFile::open(path);
      for (size_t i = 0; i < f.tensors().size(); ++i) {
        const PickledTensor& t = f.tensors()[i];
        add(t.name, t.dtype, t.sizes, i);
      }
      impl->sources.emplace_back(std::move(f));
    } else {
      SafetensorsFile f = SafetensorsFile::open(path);
      for (size_t i = 0; i < f.tensors().size(); ++i) {
        const SafetensorsEntry& e = f.tensors()[i];
        add(e.name, e.dtype, e.shape, i);
      }
      impl->sources.emplace_back(std::move(f));
    }
    log::debug("opened ", path.string());
  }
  Checkpoint c;
  c.impl_ = std::move(impl);
  return c;
}

bool Checkpoint::contains(const std::string& name) const { return impl_->entries.count(name) > 0; }

const TensorInfo& Checkpoint::info(const std::string& name) const { return impl_->entry(name).info; }

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->entries.size());
  for (const auto& [name, e] : impl_->entries) out.push_back(name);
  return out;
}

at::Tensor Checkpoint::view(const std::string& name) const {
  const Impl::Entry& e = impl_->entry(name);
  return std::visit([&](const auto& f) { return f.view(e.index); }, impl_->sources[e.source]);
}

uint64_t Checkpoint::total_bytes() const { return impl_->total; }
size_t Checkpoint::size() const { return impl_->entries.size(); }
const std::vector<std::filesystem::path>& Checkpoint::files() const { return impl_->files; }
std::string Checkpoint::source_name() const { return impl_->source(); }

void Checkpoint::release(const std::string& name) const {
  const Impl::Entry& e = impl_->entry(name);
  std::visit(
      [&](const auto& f) {
        const auto [begin, end] = f.file_range(e.index);
        f.mapping()->release(begin, end - begin);
      },
      impl_->sources[e.source]);
}

// ---- WeightLoader ------------------------------------------------------------------------------

namespace {

constexpr size_t kMaxListedProblems = 20;

bool keeps_own_dtype(at::ScalarType t) {
  return !at::isFloatingType(t) || t == at::kFloat8_e4m3fn || t == at::kFloat8_e5m2;
}

// One tensor from the mapping to its destination without an intermediate host copy in the new dtype.
at::Tensor convert(const at::Tensor& view, at::ScalarType target, c10::Device device) {
  if (device.is_cpu()) {
    if (view.scalar_type() == target) return view.contiguous();  // zero-copy when already contiguous
    return view.to(target, /*non_blocking=*/false, /*copy=*/false, at::MemoryFormat::Contiguous);
  }
  // Move in the file's dtype and convert on the device: a blocking CPU->GPU copy with a dtype change
  // would first make a converted host copy, and the device converts much faster.
  at::Tensor moved = view.to(device, view.scalar_type(), /*non_blocking=*/false, /*copy=*/false,
                             at::MemoryFormat::Contiguous);
  return moved.scalar_type() == target ? moved : moved.to(target);
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with one backtrack point: linear in practice, never exponential.
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

WeightLoader::WeightLoader(const Checkpoint& ckpt, at::ScalarType dtype, c10::Device device)
    : ckpt_(ckpt), dtype_(dtype), device_(device) {}

bool WeightLoader::mark_used(const std::string& name, at::IntArrayRef expected) {
  const TensorInfo& info = ckpt_.info(name);
  used_.insert(name);
  if (!expected.empty() && at::IntArrayRef(info.shape) != expected) {
    mismatched_.emplace(name, cat("is ", format_shape(info.shape), " in ", info.file.filename().string(),
                                  ", the model expects ", format_shape(expected)));
    return false;
  }
  return true;
}

at::Tensor WeightLoader::load(const std::string& name, std::optional<at::ScalarType> dtype, at::IntArrayRef expected) {
  if (!mark_used(name, expected)) return {};
  const TensorInfo& info = ckpt_.info(name);
  const at::ScalarType target = dtype ? *dtype : keeps_own_dtype(info.dtype) ? info.dtype : dtype_;
  const at::Tensor view = ckpt_.view(name);
  at::Tensor out = convert(view, target, device_);
  // A converted copy (another dtype, or on the GPU) leaves the file's pages unused: drop them now.
  if (!out.is_alias_of(view)) ckpt_.release(name);
  return out;
}

at::Tensor WeightLoader::take(const std::string& name, at::IntArrayRef expected_shape) {
  if (!ckpt_.contains(name)) {
    missing_.emplace(name, expected_shape.empty() ? std::string() : format_shape(expected_shape));
    return {};
  }
  return load(name, std::nullopt, expected_shape);
}

at::Tensor WeightLoader::take(const std::string& name, at::ScalarType dtype, at::IntArrayRef expected_shape) {
  if (!ckpt_.contains(name)) {
    missing_.emplace(name, expected_shape.empty() ? std::string() : format_shape(expected_shape));
    return {};
  }
  return load(name, dtype, expected_shape);
}

at::Tensor WeightLoader::take_stored(const std::string& name, at::IntArrayRef expected_shape) {
  if (!ckpt_.contains(name)) {
    missing_.emplace(name, expected_shape.empty() ? std::string() : format_shape(expected_shape));
    return {};
  }
  return mark_used(name, expected_shape) ? ckpt_.view(name) : at::Tensor();
}

std::optional<at::Tensor> WeightLoader::take_if_present(const std::string& name, at::IntArrayRef expected_shape) {
  if (!ckpt_.contains(name)) return std::nullopt;
  at::Tensor t = load(name, std::nullopt, expected_shape);
  if (!t.defined()) return std::nullopt;
  return t;
}

bool WeightLoader::contains(const std::string& name) const { return ckpt_.contains(name); }

void WeightLoader::ignore(const std::string& pattern) { ignore_.push_back(pattern); }

std::vector<std::string> WeightLoader::problems() const {
  std::vector<std::string> lines;
  for (const auto& [name, shape] : missing_) lines.push_back(cat("missing: ", name, shape.empty() ? "" : " ", shape));
  for (const auto& [name, what] : mismatched_) lines.push_back(cat("wrong shape: ", name, " ", what));
  for (const std::string& name : ckpt_.names()) {
    if (used_.count(name) > 0) continue;
    bool ignored = false;
    for (const std::string& pattern : ignore_) ignored = ignored || glob_match(pattern, name);
    if (!ignored) lines.push_back(cat("unused: ", name, " ", format_shape(ckpt_.info(name).shape)));
  }
  return lines;
}

void WeightLoader::finish() const {
  const std::vector<std::string> lines = problems();
  if (lines.empty()) return;
  size_t unused = 0;
  for (const std::string& l : lines) unused += l.starts_with("unused: ") ? 1 : 0;
  std::string message = cat("the weights do not match the model (", missing_.size(), " missing, ", mismatched_.size(),
                            " with the wrong shape, ", unused, " unused)");
  for (size_t i = 0; i < lines.size() && i < kMaxListedProblems; ++i) message += "\n" + lines[i];
  if (lines.size() > kMaxListedProblems) message += cat("\n... and ", lines.size() - kMaxListedProblems, " more");
  throw FileError(ckpt_.source_name(), message);
}

}  // namespace januskit::io
