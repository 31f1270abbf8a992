// How a model build turns checkpoint tensors into nn::Linear layers, whatever the folder holds and
// whatever --quant asks: dense weights as stored, dense weights quantized at load time, or a GPTQ
// checkpoint's packed tensors (X.qweight / X.qzeros / X.scales / X.g_idx, docs/quantization.md) read
// as they are, or dequantized for --quant none.
//
// Every model uses load_linear() for its large projections, so the rule for which layers are
// quantized (nn::should_quantize) and how fused layers are assembled (q/k/v, gate/up: each part
// quantized by rows, then stacked) is the same at load time and in `convert --quant`: a converted
// folder loads to exactly the layers load-time quantization builds.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <vector>

#include "models/weight_source.hpp"
#include "nn/linear.hpp"
#include "nn/quant.hpp"

namespace januskit::models {

// --quant and --group-size as the user gave them.
struct QuantChoice {
  bool given = false;                 // false: run the folder as it is (quantized or not)
  std::optional<nn::QuantSpec> spec;  // when given: nullopt is "none" (dense; a quantized folder is dequantized)
};

// The folder's `quantization_config` (config.json): nullopt when it has none. Throws FileError(source)
// for a method or layout januskit does not read (AWQ, FP8, act-order GPTQ, bits other than 4 and 8).
std::optional<nn::GptqLayout> read_quantization_config(const nlohmann::json& config, const std::string& source);
// The `quantization_config` januskit writes for a folder it quantized (GPTQ v1, symmetric, no act order).
nlohmann::json quantization_config_json(const nn::QuantSpec& spec);
// "int4 g32 (GPTQ)", "int8 per channel (GPTQ)": how `info` and the load log name a stored layout.
std::string describe_layout(const nn::GptqLayout& layout);

// What one model build does with each linear layer.
struct LinearPolicy {
  std::optional<nn::GptqLayout> stored;  // the folder's GPTQ layout: its quantized layers are read as stored
  bool dequantize_stored = false;        // --quant none on a quantized folder
  nn::QuantizeRequest quantize;          // dense layers: quantized at load when the request applies
  at::ScalarType dtype = at::kFloat;     // of dense (and dequantized) layers
  c10::Device device = c10::kCPU;
};

// The user's choice against the folder's layout. A quantized folder runs as stored unless --quant none
// (dequantize) is given; asking it for other bits or another group size is a UsageError, because
// re-rounding already rounded weights compounds the error: the message points at the original weights.
LinearPolicy resolve_linear_policy(const QuantChoice& choice, const std::optional<nn::GptqLayout>& stored,
                                   at::ScalarType dtype, c10::Device device);

// One projection of a checkpoint: the name prefix ("model.layers.0.self_attn.q_proj") and its output rows.
struct LinearPart {
  std::string prefix;
  int64_t rows = 0;
};

// One layer from parts stacked along the output dimension, each [rows, in] with a bias when `bias`.
// Missing tensors are recorded by the source (reported by WeightLoader::finish()) and give an undefined
// layer; a layer that is quantized in some parts and dense in others, or whose GPTQ tensors do not fit
// its shape, throws Error naming it.
nn::Linear load_linear(WeightSource& source, const std::vector<LinearPart>& parts, int64_t in, bool bias,
                       const LinearPolicy& policy);

}  // namespace januskit::models
