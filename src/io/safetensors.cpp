#include "io/safetensors.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/mapped_tensor.hpp"

namespace januskit::io {

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile f;
  f.file_ = MappedFile::open(path);
  f.header_ = parse_safetensors_header(f.file_->bytes(), path.string());
  f.storage_ = mapped_storage(f.file_, f.header_.data_offset, f.header_.data_size);
  return f;
}

at::Tensor SafetensorsFile::view(size_t index) const {
  const SafetensorsEntry& e = header_.tensors.at(index);
  const at::ScalarType type = to_scalar_type(e.dtype);
  // Row-major strides; begin is a multiple of the element size in files our writers and the
  // reference writer produce, but need not be in others: then the view starts mid-element, which
  // LibTorch supports through a byte-offset storage of its own.
  std::vector<int64_t> strides(e.shape.size(), 1);
  for (size_t d = e.shape.size(); d-- > 1;) strides[d - 1] = strides[d] * std::max<int64_t>(e.shape[d], 1);
  const int64_t size = dtype_size(e.dtype);
  if (e.begin % static_cast<uint64_t>(size) == 0) {
    return view_of(storage_, type, static_cast<int64_t>(e.begin / static_cast<uint64_t>(size)), e.shape, strides);
  }
  at::Storage own = mapped_storage(file_, header_.data_offset + e.begin, e.end - e.begin);
  return view_of(own, type, 0, e.shape, strides);
}

std::pair<uint64_t, uint64_t> SafetensorsFile::file_range(size_t index) const {
  const SafetensorsEntry& e = header_.tensors.at(index);
  return {header_.data_offset + e.begin, header_.data_offset + e.end};
}

std::vector<TensorSpec> safetensors_order(std::vector<TensorSpec> specs) {
  std::sort(specs.begin(), specs.end(), [](const TensorSpec& a, const TensorSpec& b) {
    const int sa = dtype_size(a.dtype), sb = dtype_size(b.dtype);
    return sa != sb ? sa > sb : a.name < b.name;
  });
  return specs;
}

SafetensorsWriter::SafetensorsWriter(std::filesystem::path path, std::vector<TensorSpec> specs,
                                     const std::map<std::string, std::string>& metadata)
    : file_(path) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (TensorSpec& spec : safetensors_order(std::move(specs))) {
    uint64_t nbytes = static_cast<uint64_t>(dtype_size(spec.dtype));
    for (int64_t d : spec.shape) {
      if (d < 0) throw FileError(path.string(), cat("tensor '", spec.name, "' has a negative dimension"));
      nbytes *= static_cast<uint64_t>(d);
    }
    if (header.contains(spec.name) || spec.name == "__metadata__") {
      throw FileError(path.string(), cat("tensor name '", spec.name, "' is used twice or is reserved"));
    }
    header[spec.name] = {{"dtype", dtype_safetensors_name(spec.dtype)}, {"shape", spec.shape},
                         {"data_offsets", {offset, offset + nbytes}}};
    index_[spec.name] = slots_.size();
    slots_.push_back(Slot{std::move(spec), offset, offset + nbytes, false});
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path.string(), cat("cannot write the header: ", e.what()));
  }
  // Spaces after the JSON so that the data area starts 8-byte aligned (allowed by the format).
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  std::string prefix(8, '\0');
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) prefix[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  file_.write(prefix + text);
  data_offset_ = 8 + n;
  data_size_ = offset;
}

void SafetensorsWriter::write(const std::string& name, const at::Tensor& tensor) {
  auto it = index_.find(name);
  if (it == index_.end()) throw FileError(file_.path().string(), cat("tensor '", name, "' is not in the planned layout"));
  Slot& slot = slots_[it->second];
  if (slot.written) throw FileError(file_.path().string(), cat("tensor '", name, "' is written twice"));
  if (to_file_dtype(tensor.scalar_type()) != slot.spec.dtype || tensor.sizes() != at::IntArrayRef(slot.spec.shape)) {
    throw FileError(file_.path().string(),
                    cat("tensor '", name, "' is ", short_dtype_name(tensor.scalar_type()), " ", format_shape(tensor.sizes()),
                        ", the layout planned ", dtype_short_name(slot.spec.dtype), " ", format_shape(slot.spec.shape)));
  }
  // One contiguous CPU copy at most (none for a contiguous CPU tensor): streaming stays per tensor.
  const at::Tensor bytes = tensor.device().is_cpu() ? tensor.contiguous() : tensor.to(at::kCPU).contiguous();
  const uint64_t nbytes = slot.end - slot.begin;
  if (static_cast<uint64_t>(bytes.nbytes()) != nbytes) {
    throw FileError(file_.path().string(), cat("tensor '", name, "' has ", bytes.nbytes(), " bytes, expected ", nbytes));
  }
  file_.write_at(data_offset_ + slot.begin, bytes.data_ptr(), nbytes);
  slot.written = true;
}

void SafetensorsWriter::commit() {
  for (const Slot& slot : slots_) {
    if (!slot.written) throw FileError(file_.path().string(), cat("tensor '", slot.spec.name, "' was never written"));
  }
  file_.commit();
}

void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (const auto& [name, t] : tensors) {
    auto dtype = to_file_dtype(t.scalar_type());
    if (!dtype) {
      throw FileError(path.string(), cat("tensor '", name, "' has dtype ", t.scalar_type(), ", which safetensors cannot store"));
    }
    specs.push_back(TensorSpec{name, *dtype, t.sizes().vec()});
  }
  SafetensorsWriter writer(path, std::move(specs), metadata);
  for (const auto& [name, t] : tensors) writer.write(name, t);
  writer.commit();
}

}  // namespace januskit::io
