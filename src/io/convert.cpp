#include "io/convert.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/timer.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "io/mapped_tensor.hpp"
#include "io/model_info.hpp"
#include "io/safetensors.hpp"

namespace januskit::io {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxCopiedFile = 100'000'000;  // tokenizer.json is ~10 MB; anything this big is not a settings file

struct Planned {
  std::string name;
  DType dtype;  // in the output
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
  std::string source;  // the source tensor it is made from (its own name unless rewritten)
  size_t part = 0;     // index among the rewrite's outputs; 0 for plain tensors
  bool rewritten = false;
};

DType output_dtype(const TensorInfo& t, const ConvertOptions& options) {
  const bool convertible = at::isFloatingType(t.dtype) && t.dtype != at::kFloat8_e4m3fn && t.dtype != at::kFloat8_e5m2;
  return *to_file_dtype(convertible && options.dtype ? *options.dtype : t.dtype);
}

uint64_t bytes_of(DType dtype, const std::vector<int64_t>& shape) {
  uint64_t n = static_cast<uint64_t>(dtype_size(dtype));
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

// What one source tensor becomes: itself (in the output dtype), or the rewrite's tensors.
std::vector<Planned> plan_tensor(const TensorInfo& t, const ConvertOptions& options) {
  std::vector<TensorSpec> specs;
  if (options.rewrite) specs = options.rewrite->plan(t);
  if (specs.empty()) {
    const DType dtype = output_dtype(t, options);
    return {Planned{t.name, dtype, t.shape, bytes_of(dtype, t.shape), t.name, 0, false}};
  }
  std::vector<Planned> out;
  for (size_t i = 0; i < specs.size(); ++i) {
    out.push_back(Planned{specs[i].name, specs[i].dtype, specs[i].shape, bytes_of(specs[i].dtype, specs[i].shape), t.name, i, true});
  }
  return out;
}

// Greedy packing in name order: a new shard starts when the next tensor would overflow this one; the
// tensors made from one source stay together.
std::vector<std::vector<Planned>> plan_shards(const Checkpoint& ckpt, const ConvertOptions& options) {
  std::vector<std::vector<Planned>> shards(1);
  uint64_t filled = 0;
  for (const std::string& name : ckpt.names()) {
    std::vector<Planned> group = plan_tensor(ckpt.info(name), options);
    uint64_t bytes = 0;
    for (const Planned& p : group) bytes += p.bytes;
    if (!shards.back().empty() && filled + bytes > options.shard_size) {
      shards.emplace_back();
      filled = 0;
    }
    filled += bytes;
    for (Planned& p : group) shards.back().push_back(std::move(p));
  }
  return shards;
}

// Files that are weights in some format: never copied (the output has its own).
bool is_weight_like(const std::string& name) {
  for (std::string_view ext : {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf"}) {
    if (name.ends_with(ext)) return true;
  }
  return name.ends_with(".index.json");
}

std::string read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path.string(), "cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) throw FileError(path.string(), "cannot read");
  return text.str();
}

void edit_copied_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  const fs::path path = dir / "config.json";
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(read_whole_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw FileError(path.string(), cat("not valid JSON: ", e.what()));
  }
  edit(config);
  write_file_synced(path, config.dump(2) + "\n");
}

// Every other regular file at the top of the model folder: config, tokenizer, README, ...
std::vector<std::string> copy_other_files(const fs::path& model, const fs::path& into) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(model, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file(ec) || name.starts_with(".") || is_weight_like(name)) continue;
    if (e.file_size(ec) > kMaxCopiedFile) {
      log::warn(e.path().string(), ": not copied (", format_bytes(e.file_size(ec)), ", larger than a settings file)");
      continue;
    }
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> copied;
  for (const fs::path& f : files) {
    write_file_synced(into / f.filename(), read_whole_file(f));
    copied.push_back(f.filename().string());
  }
  return copied;
}

}  // namespace

std::string shard_name(size_t index, size_t count) {
  if (count == 1) return "model.safetensors";
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return buf;
}

ConvertResult convert_model(const fs::path& model, const fs::path& out, const ConvertOptions& options) {
  Stopwatch clock;
  std::error_code ec;
  const bool from_folder = fs::is_directory(model, ec);
  // Open (and so validate) the source before anything is created.
  const Checkpoint ckpt = open_model_weights(model);
  if (options.edit_config && !from_folder) {
    throw UsageError(cat(model.string(), ": this conversion writes a config.json, so MODEL must be a model folder"));
  }
  const std::vector<std::vector<Planned>> shards = plan_shards(ckpt, options);
  AtomicDirectory dir(out);

  ConvertResult result;
  result.out = dir.path();
  ProgressBar bar(static_cast<int64_t>(ckpt.size()), "convert", "tensor");
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::string file = shard_name(s, shards.size());
    std::vector<TensorSpec> specs;
    for (const Planned& p : shards[s]) specs.push_back(TensorSpec{p.name, p.dtype, p.shape});
    SafetensorsWriter writer(dir.temp_path() / file, specs, {{"format", "pt"}});
    // Source by source (the writer takes any order): a rewritten tensor is computed once for all its parts.
    std::vector<at::Tensor> made;
    for (const Planned& p : shards[s]) {
      const at::Tensor source = ckpt.view(p.source);
      at::Tensor tensor;
      if (p.rewritten) {
        if (p.part == 0) made = options.rewrite->compute(ckpt.info(p.source), source);
        tensor = made.at(p.part);
      } else {
        const at::ScalarType target = to_scalar_type(p.dtype);
        tensor = source.scalar_type() == target ? source : source.to(target);
      }
      writer.write(p.name, tensor);
      weight_map[p.name] = file;
      result.tensor_bytes += p.bytes;
      ++result.tensors;
      const bool last_part = !p.rewritten || p.part + 1 == made.size();
      if (last_part) {
        made.clear();
        ckpt.release(p.source);  // this tensor's pages are no longer needed in memory
        bar.advance();
      }
    }
    writer.commit();
    result.shards.push_back(file);
  }
  bar.finish();
  if (shards.size() > 1) {
    const nlohmann::json index = {{"metadata", {{"total_size", result.tensor_bytes}}}, {"weight_map", weight_map}};
    write_file_synced(dir.temp_path() / "model.safetensors.index.json", index.dump(2) + "\n");
  }
  if (from_folder) result.copied = copy_other_files(model, dir.temp_path());
  if (options.edit_config) edit_copied_config(dir.temp_path(), options.edit_config);
  dir.commit();
  result.seconds = clock.seconds();
  return result;
}

}  // namespace januskit::io
