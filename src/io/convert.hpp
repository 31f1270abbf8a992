// `januskit convert`: any supported checkpoint (PyTorch .bin/.pt, safetensors, sharded or not) to
// sharded safetensors in the Hugging Face layout, with the folder's other small files copied.
//
// Design: streaming, one tensor at a time: the source is mapped, each tensor is converted and written
// at its planned offset, and its source pages are dropped from the resident set afterwards, so peak
// memory is about one tensor however large the model. The output is built in "OUT.tmp-XXXXXX" and
// renamed to OUT only when complete: an error or Ctrl-C never leaves a half-written OUT.
// Output: one shard is "model.safetensors" (no index), as transformers writes it; several are
// "model-00001-of-0000N.safetensors" plus "model.safetensors.index.json" (metadata.total_size and
// weight_map). Tensor names are unchanged; shared or non-contiguous source tensors become plain
// contiguous tensors (safetensors has no views).
#pragma once

#include <ATen/ATen.h>

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_size.hpp"

namespace januskit::io {

struct TensorInfo;
struct TensorSpec;

// Tensors written in place of others (weight-only quantization writes X.qweight, X.qzeros, X.scales and
// X.g_idx instead of X.weight). `plan` names them, with dtypes and shapes, before any data is read (the
// shards are laid out first); empty means "write this tensor as usual". `compute` makes them from the
// source tensor (a CPU view in its file dtype), in plan's order.
struct TensorRewrite {
  std::function<std::vector<TensorSpec>(const TensorInfo&)> plan;
  std::function<std::vector<at::Tensor>(const TensorInfo&, const at::Tensor&)> compute;
};

struct ConvertOptions {
  // Floating-point tensors are converted to this; nullopt keeps every tensor's dtype. Integer, bool
  // and float8 tensors always keep theirs (float8 weights need their scales; see WeightLoader).
  std::optional<at::ScalarType> dtype;
  // Largest shard in bytes (as `--shard-size 5GB`); a single larger tensor gets a shard of its own.
  uint64_t shard_size = 5'000'000'000;
  std::optional<TensorRewrite> rewrite;
  // Applied to the copied config.json (e.g. to add quantization_config); needs a model folder.
  std::function<void(nlohmann::json&)> edit_config;
};

struct ConvertResult {
  std::filesystem::path out;
  std::vector<std::string> shards;  // file names
  size_t tensors = 0;
  uint64_t tensor_bytes = 0;        // written tensor data (the index's total_size)
  std::vector<std::string> copied;  // other files copied from the model folder
  double seconds = 0;
};

// `model` is a model folder or one weights file. Throws FileError/UsageError; on any error nothing
// is left at `out`.
ConvertResult convert_model(const std::filesystem::path& model, const std::filesystem::path& out,
                            const ConvertOptions& options);

using januskit::parse_size;  // core/byte_size.hpp

// Shard file names for `count` shards, as transformers names them.
std::string shard_name(size_t index, size_t count);

}  // namespace januskit::io
