// What `januskit info` reports about a model folder or a single weights file: architecture,
// parameters per component, dtypes, bytes on disk, the memory each compute dtype needs, and
// optionally every tensor or the values of one tensor.
//
// Design: everything here comes from headers (safetensors JSON, data.pkl) and never reads tensor
// data, so `info` on a 15 GB model takes milliseconds and no memory; only summarize_tensor() reads
// the one tensor it is asked about, in chunks.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/byte_size.hpp"
#include "io/checkpoint.hpp"

namespace januskit::io {

struct ComponentStats {
  std::string name;  // "language_model", "model.layers", "lm_head", ...
  int64_t tensors = 0;
  int64_t params = 0;
  uint64_t bytes = 0;  // in the file's dtypes
};

struct WeightFileInfo {
  std::filesystem::path path;
  std::string format;  // "safetensors" or "torch zip"
  uint64_t bytes = 0;  // on disk
};

struct ModelInfo {
  std::filesystem::path path;
  std::vector<std::string> architectures;  // config.json "architectures" (empty without config.json)
  std::string model_type;                  // config.json "model_type"
  std::vector<WeightFileInfo> files;
  uint64_t bytes_on_disk = 0;
  int64_t tensors = 0;
  int64_t params = 0;
  uint64_t tensor_bytes = 0;
  std::map<std::string, int64_t> params_by_dtype;  // "bf16" -> parameters stored as bf16
  std::vector<ComponentStats> components;          // in order of first appearance by sorted name
  // Memory for the weights when floating-point tensors are held in each dtype (others as stored).
  uint64_t memory_f32 = 0, memory_bf16 = 0, memory_f16 = 0;
  std::vector<TensorInfo> tensor_list;  // every tensor, sorted by name
  // config.json's quantization_config, summarized ("gptq int4, group 32, sym, no act order"); empty when
  // the folder has none. Quantized layers are counted by their X.qweight tensors, and their parameters
  // as the weights they pack (32 / bits per int32), not as int32 elements. Their X.scales, X.qzeros and
  // X.g_idx describe the packing and are not parameters: counted apart (tensors and bytes include them).
  std::string quantization;
  int64_t quantized_layers = 0;
  int64_t quantization_values = 0;     // elements of the scales/qzeros/g_idx of quantized layers
  uint64_t quantization_bytes = 0;
};

// A model folder (config.json + weights) or one weights file.
ModelInfo inspect_model(const std::filesystem::path& model);

// Opens the weights of a model folder or a single weights file.
Checkpoint open_model_weights(const std::filesystem::path& model);

// The component a tensor belongs to: its first dotted component, or the first two when the first is
// a generic wrapper ("model", "module", "transformer", "base_model") and more follow:
// "language_model.model.layers.0.x" -> "language_model", "model.layers.3.mlp.w" -> "model.layers".
std::string component_of(const std::string& tensor_name);

std::string format_model_info(const ModelInfo& info, bool list_tensors);
nlohmann::json model_info_json(const ModelInfo& info, bool list_tensors);

// Values of one tensor, read in chunks (the tensor's pages and a small buffer, never a full copy).
struct TensorSummary {
  TensorInfo info;
  double min = 0, max = 0, mean = 0, std = 0;  // over finite values
  int64_t nonfinite = 0;                       // NaN and infinities
  std::vector<double> first;                   // the first few values
};
TensorSummary summarize_tensor(const Checkpoint& ckpt, const std::string& name);
std::string format_tensor_summary(const TensorSummary& s);
nlohmann::json tensor_summary_json(const TensorSummary& s);

using januskit::format_bytes;  // core/byte_size.hpp
// "2,089,297,547"
std::string format_count(int64_t n);

}  // namespace januskit::io
