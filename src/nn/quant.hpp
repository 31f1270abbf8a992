// Weight-only quantization: the formats, the quantizer, and the GPTQ checkpoint layout.
//
// One formula for every backend (docs/quantization.md):
//
//     w[n, k] = scale[n, g] · (code[n, k] − zero[n, g]),    g = k / group_size
//
// codes are unsigned integers of `bits` bits (int4: 0..15, int8: 0..255), scale is an IEEE half, zero an
// unsigned integer; a group covers `group_size` consecutive input channels of one output row (the last
// group of a row may be shorter), and "per output channel" is one group over the whole row.
//
// januskit's own quantizer is GPTQ's round-to-nearest quantizer in its symmetric form (no calibration):
//     scale = fp16(2 · max|w| / (2^bits − 1))   (a group of zeros takes max|w| = 1, as GPTQ does)
//     zero  = 2^(bits − 1)
//     code  = clamp(round_half_even(w / scale) + zero, 0, 2^bits − 1)
// Symmetric because it is the variant every GPTQ loader runs (vLLM's Marlin kernels take no other), and
// because GPTQ's v1 layout cannot store a zero point of 0 (see from_gptq).
//
// On disk a quantized folder is a GPTQ checkpoint, the layout transformers (through GPTQModel), vLLM and
// AutoGPTQ read: per linear layer `X.qweight`, `X.qzeros`, `X.scales`, `X.g_idx` in place of `X.weight`,
// and `quantization_config` {"quant_method": "gptq", "bits", "group_size", "sym", "desc_act": false,
// "checkpoint_format": "gptq", "lm_head"} in config.json.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace januskit::nn {

// What to quantize to: --quant int8|int4 and --group-size.
struct QuantSpec {
  int bits = 4;            // 4 or 8
  int64_t group_size = 0;  // input channels per scale; 0 = one group per output row (per channel)

  // Group size for a row of `cols` inputs: group_size, or cols when per channel.
  int64_t group_for(int64_t cols) const { return group_size > 0 ? group_size : cols; }
  std::string name() const;  // "int4 (group 32)", "int8 (per channel)"
  bool operator==(const QuantSpec&) const = default;
};

// The group sizes --group-size accepts: each group must cover whole 32-channel blocks of the CPU kernels.
inline constexpr int64_t kQuantGroupSizes[] = {32, 64, 128};
inline constexpr int64_t kDefaultInt4GroupSize = 32;

// --quant none|int8|int4 with --group-size G (0: the default, int4 group 32, int8 per channel).
// Returns nullopt for "none"; throws UsageError naming the flag for anything else.
std::optional<QuantSpec> parse_quant(std::string_view quant, int64_t group_size = 0);

// Whether januskit quantizes a linear layer of this shape (at load time and in `convert --quant`, one
// rule for both): every layer with at least 64 inputs whose input and output counts fit GPTQ's packing
// (multiples of 32 / bits). Smaller layers (Janus's 8-wide generation aligner input) stay in the model dtype; they
// are a negligible share of the bytes and the most sensitive to rounding.
bool should_quantize(int64_t out_features, int64_t in_features, const QuantSpec& spec);

// A quantized matrix in its canonical, unpacked form (the formula above); the backends pack it.
struct QuantizedMatrix {
  int bits = 4;
  int64_t rows = 0, cols = 0;  // N outputs, K inputs
  int64_t group_size = 0;      // > 0; == cols when per channel
  at::Tensor codes;            // uint8 [N, K]
  at::Tensor scales;           // f16 [N, G]
  at::Tensor zeros;            // uint8 [N, G]

  int64_t groups() const { return (cols + group_size - 1) / group_size; }
  bool per_channel() const { return group_size >= cols; }
};

// Quantizes a [N, K] floating-point weight (any float dtype, any device; computed on the CPU).
QuantizedMatrix quantize(const at::Tensor& weight, const QuantSpec& spec);
// The formula, in f32, then cast to `dtype` (on the CPU).
at::Tensor dequantize(const QuantizedMatrix& q, at::ScalarType dtype = at::kFloat);
// Stacks matrices of one bits/K/group size along the output dimension (fused q/k/v, gate/up).
QuantizedMatrix cat_rows(const std::vector<QuantizedMatrix>& parts);
// Throws Error(context: problem) when the tensors break the invariants above (shapes, dtypes, code range).
void validate(const QuantizedMatrix& q, const std::string& context);

// --- GPTQ checkpoint tensors ------------------------------------------------------------------------
// qweight int32 [K / (32 / bits), N]: bits b·j .. b·j + b − 1 of qweight[i, n] hold code[n, i·(32/b) + j]
// qzeros  int32 [G, N / (32 / bits)]: likewise zero[n, g] along n; the "gptq" (v1) format stores
//                                      zero − 1 (AutoGPTQ's convention), "gptq_v2" the zero itself
// scales  f16   [G, N]
// g_idx   int32 [K]: the group of every input channel, k / group_size (act-order files permute it)
struct GptqTensors {
  at::Tensor qweight, qzeros, scales, g_idx;
};

struct GptqLayout {
  int bits = 4;
  int64_t group_size = 128;  // -1 in config.json = per channel, given here as 0
  bool v1 = true;            // checkpoint_format "gptq" (zero − 1 stored) rather than "gptq_v2"
};

GptqTensors to_gptq(const QuantizedMatrix& q);  // always v1, the format every loader reads
// From a checkpoint's tensors (on the CPU, any integer dtype as stored); `name` is the layer's prefix,
// used in errors. Throws Error for shapes that do not fit the layout, a g_idx that is not k / group_size
// (act-order), or a zero point the canonical form cannot hold.
QuantizedMatrix from_gptq(const GptqTensors& t, const GptqLayout& layout, int64_t out_features,
                          int64_t in_features, const std::string& name);

}  // namespace januskit::nn
