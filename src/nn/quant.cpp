#include "nn/quant.hpp"

#include <ATen/ATen.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.hpp"
#include "core/parallel.hpp"

namespace januskit::nn {

std::string QuantSpec::name() const {
  return group_size > 0 ? cat("int", bits, " (group ", group_size, ")") : cat("int", bits, " (per channel)");
}

std::optional<QuantSpec> parse_quant(std::string_view quant, int64_t group_size) {
  auto check_group = [&](int bits) {
    if (group_size == 0) return bits == 4 ? kDefaultInt4GroupSize : int64_t{0};
    if (group_size == -1) return int64_t{0};  // GPTQ's spelling of "per channel"
    for (int64_t g : kQuantGroupSizes) {
      if (g == group_size) return g;
    }
    throw UsageError(cat("--group-size: expected 32, 64 or 128 (or -1 for one scale per output channel), got ", group_size));
  };
  if (quant == "none") {
    if (group_size != 0) throw UsageError("--group-size needs --quant int8 or int4");
    return std::nullopt;
  }
  if (quant == "int8") return QuantSpec{8, check_group(8)};
  if (quant == "int4") return QuantSpec{4, check_group(4)};
  throw UsageError(cat("--quant: expected none, int8 or int4, got '", quant, "'"));
}

bool should_quantize(int64_t out_features, int64_t in_features, const QuantSpec& spec) {
  const int per_word = 32 / spec.bits;
  return out_features > 0 && out_features % per_word == 0 && in_features >= 64 && in_features % per_word == 0;
}

// ---------------------------------------------------------------------------------------------------
// The quantizer and the formula

namespace {

constexpr float kMaxHalf = 65504.0f;

// One output row: codes [K], scales/zeros [G]. Floats in f32, as the formula in quant.hpp says.
void quantize_row(const float* w, int64_t K, int64_t group, int bits, uint8_t* codes, c10::Half* scales,
                  uint8_t* zeros, int64_t row) {
  const int maxq = (1 << bits) - 1;
  const int zero = 1 << (bits - 1);
  for (int64_t g = 0, start = 0; start < K; ++g, start += group) {
    const int64_t end = std::min(K, start + group);
    float amax = 0.0f;
    for (int64_t k = start; k < end; ++k) amax = std::max(amax, std::fabs(w[k]));
    if (!std::isfinite(amax)) throw Error(cat("row ", row, " holds a non-finite weight; it cannot be quantized"));
    if (amax == 0.0f) amax = 1.0f;  // GPTQ: a group of zeros gets the range [-1, 1]
    const float scale_f32 = 2.0f * amax / static_cast<float>(maxq);
    if (scale_f32 > kMaxHalf) throw Error(cat("row ", row, " has weights of magnitude ", amax, ", too large for fp16 scales"));
    c10::Half scale(scale_f32);
    // Below fp16's range the scale would round to 0; the smallest subnormal keeps the codes finite.
    if (static_cast<float>(scale) == 0.0f) scale = c10::Half(std::numeric_limits<c10::Half>::denorm_min());
    const float s = static_cast<float>(scale);
    for (int64_t k = start; k < end; ++k) {
      const float q = std::nearbyint(w[k] / s) + static_cast<float>(zero);
      codes[k] = static_cast<uint8_t>(std::clamp(q, 0.0f, static_cast<float>(maxq)));
    }
    scales[g] = scale;
    zeros[g] = static_cast<uint8_t>(zero);
  }
}

}  // namespace

QuantizedMatrix quantize(const at::Tensor& weight, const QuantSpec& spec) {
  TORCH_CHECK(weight.dim() == 2 && at::isFloatingType(weight.scalar_type()), "quantize: expected a 2-D float weight, got ",
              weight.sizes(), " ", weight.scalar_type());
  TORCH_CHECK(spec.bits == 4 || spec.bits == 8, "quantize: bits must be 4 or 8");
  QuantizedMatrix q;
  q.bits = spec.bits;
  q.rows = weight.size(0);
  q.cols = weight.size(1);
  q.group_size = std::min(spec.group_for(q.cols), q.cols);
  const int64_t G = q.groups();
  auto u8 = at::TensorOptions().dtype(at::kByte);
  q.codes = at::empty({q.rows, q.cols}, u8);
  q.scales = at::empty({q.rows, G}, at::TensorOptions().dtype(at::kHalf));
  q.zeros = at::empty({q.rows, G}, u8);
  // Row chunks converted to f32 one at a time: the weight may be a bf16 view of a mapped file, and a
  // whole-matrix f32 copy of a 7B model's largest layer would be needless memory.
  constexpr int64_t kChunk = 256;
  const at::Tensor cpu = weight.device().is_cpu() ? weight : weight.cpu();
  at::parallel_for(0, (q.rows + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t r0 = c * kChunk, n = std::min(kChunk, q.rows - r0);
      const at::Tensor chunk = cpu.narrow(0, r0, n).to(at::kFloat).contiguous();
      const float* w = chunk.data_ptr<float>();
      for (int64_t r = 0; r < n; ++r) {
        const int64_t row = r0 + r;
        quantize_row(w + r * q.cols, q.cols, q.group_size, q.bits, q.codes.data_ptr<uint8_t>() + row * q.cols,
                     q.scales.data_ptr<c10::Half>() + row * G, q.zeros.data_ptr<uint8_t>() + row * G, row);
      }
    }
  });
  return q;
}

at::Tensor dequantize(const QuantizedMatrix& q, at::ScalarType dtype) {
  const int64_t G = q.groups(), gs = q.group_size;
  // Per-group scale and zero spread over the group's columns (the last group may be short).
  at::Tensor col_group = at::clamp_max(at::arange(q.cols, at::TensorOptions().dtype(at::kLong)).div(gs, "floor"), G - 1);
  at::Tensor scale = q.scales.to(at::kFloat).index_select(1, col_group);
  at::Tensor zero = q.zeros.to(at::kFloat).index_select(1, col_group);
  return (scale * (q.codes.to(at::kFloat) - zero)).to(dtype);
}

void validate(const QuantizedMatrix& q, const std::string& context) {
  auto fail = [&](const std::string& problem) { throw Error(cat(context, ": ", problem)); };
  if (q.bits != 4 && q.bits != 8) fail(cat("unsupported bit width ", q.bits, " (januskit runs 4- and 8-bit weights)"));
  if (q.rows <= 0 || q.cols <= 0 || q.group_size <= 0) fail("empty quantized matrix");
  if (!q.codes.defined() || q.codes.scalar_type() != at::kByte || q.codes.sizes() != at::IntArrayRef{q.rows, q.cols}) {
    fail(cat("codes must be uint8 [", q.rows, ", ", q.cols, "]"));
  }
  const int64_t G = q.groups();
  if (!q.scales.defined() || q.scales.scalar_type() != at::kHalf || q.scales.sizes() != at::IntArrayRef{q.rows, G}) {
    fail(cat("scales must be f16 [", q.rows, ", ", G, "]"));
  }
  if (!q.zeros.defined() || q.zeros.scalar_type() != at::kByte || q.zeros.sizes() != at::IntArrayRef{q.rows, G}) {
    fail(cat("zero points must be uint8 [", q.rows, ", ", G, "]"));
  }
  const int maxq = (1 << q.bits) - 1;
  if (q.bits < 8 && q.codes.max().item<int>() > maxq) fail(cat("a code exceeds ", maxq, " for ", q.bits, "-bit weights"));
  if (!at::isfinite(q.scales.to(at::kFloat)).all().item<bool>()) fail("a scale is not finite");
}

QuantizedMatrix cat_rows(const std::vector<QuantizedMatrix>& parts) {
  TORCH_CHECK(!parts.empty(), "cat_rows: no parts");
  QuantizedMatrix out = parts.front();
  std::vector<at::Tensor> codes, scales, zeros;
  out.rows = 0;
  for (const auto& p : parts) {
    if (p.bits != out.bits || p.cols != out.cols || p.group_size != out.group_size) {
      throw Error(cat("cannot fuse quantized matrices of different layouts (", p.bits, "-bit, ", p.cols, " inputs, group ",
                      p.group_size, " vs ", out.bits, "-bit, ", out.cols, " inputs, group ", out.group_size, ")"));
    }
    out.rows += p.rows;
    codes.push_back(p.codes);
    scales.push_back(p.scales);
    zeros.push_back(p.zeros);
  }
  out.codes = at::cat(codes, 0);
  out.scales = at::cat(scales, 0);
  out.zeros = at::cat(zeros, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// GPTQ packing

namespace {

// [R, C] values < 2^bits -> int32 [R / per, C] with value (r, c) at bits b·(r % per) of word (r / per, c).
at::Tensor pack_rows(const at::Tensor& values, int bits) {
  const int per = 32 / bits;
  const int64_t R = values.size(0), C = values.size(1);
  at::Tensor v = values.to(at::kInt).contiguous();
  at::Tensor out = at::zeros({R / per, C}, at::TensorOptions().dtype(at::kInt));
  const int32_t* src = v.data_ptr<int32_t>();
  int32_t* dst = out.data_ptr<int32_t>();
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t r = 0; r < R; ++r) {
    const int shift = bits * static_cast<int>(r % per);
    uint32_t* row = reinterpret_cast<uint32_t*>(dst + (r / per) * C);
    for (int64_t c = 0; c < C; ++c) row[c] |= (static_cast<uint32_t>(src[r * C + c]) & mask) << shift;
  }
  return out;
}

// The inverse: int32 [R / per, C] -> int32 [R, C].
at::Tensor unpack_rows(const at::Tensor& packed, int bits, int64_t R) {
  const int per = 32 / bits;
  const int64_t C = packed.size(1);
  at::Tensor p = packed.to(at::kInt).contiguous();
  at::Tensor out = at::empty({R, C}, at::TensorOptions().dtype(at::kInt));
  const uint32_t* src = reinterpret_cast<const uint32_t*>(p.data_ptr<int32_t>());
  int32_t* dst = out.data_ptr<int32_t>();
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t r = 0; r < R; ++r) {
    const int shift = bits * static_cast<int>(r % per);
    const uint32_t* row = src + (r / per) * C;
    for (int64_t c = 0; c < C; ++c) dst[r * C + c] = static_cast<int32_t>((row[c] >> shift) & mask);
  }
  return out;
}

// GPTQ's qweight int32 [K / per, N] -> codes uint8 [N, K] in one pass. Unpacking to int32 and then
// transposing held two int32 copies of every layer (8 bytes a weight for int4), which made a GPTQ
// folder's load peak about 1 GB above its resident size at 1.5B parameters.
at::Tensor unpack_codes_transposed(const at::Tensor& packed, int bits, int64_t K) {
  const int per = 32 / bits;
  const int64_t N = packed.size(1);
  at::Tensor p = packed.to(at::kInt).contiguous();
  at::Tensor out = at::empty({N, K}, at::TensorOptions().dtype(at::kByte));
  const uint32_t* src = reinterpret_cast<const uint32_t*>(p.data_ptr<int32_t>());
  uint8_t* dst = out.data_ptr<uint8_t>();
  const uint32_t mask = (1u << bits) - 1;
  constexpr int64_t kBlock = 64;  // output rows per pass: their lines stay in cache while K advances
  for (int64_t n0 = 0; n0 < N; n0 += kBlock) {
    const int64_t n1 = std::min(N, n0 + kBlock);
    for (int64_t kp = 0; kp < K / per; ++kp) {
      const uint32_t* row = src + kp * N;
      for (int64_t n = n0; n < n1; ++n) {
        const uint32_t word = row[n];
        uint8_t* d = dst + n * K + kp * per;
        for (int j = 0; j < per; ++j) d[j] = static_cast<uint8_t>((word >> (bits * j)) & mask);
      }
    }
  }
  return out;
}

}  // namespace

GptqTensors to_gptq(const QuantizedMatrix& q) {
  const int per = 32 / q.bits;
  if (q.cols % per != 0 || q.rows % per != 0) {
    throw Error(cat("GPTQ packing needs both dimensions to be multiples of ", per, " for ", q.bits, "-bit weights, got [",
                    q.rows, ", ", q.cols, "]"));
  }
  if (q.zeros.min().item<int>() < 1) throw Error("GPTQ's v1 layout cannot store a zero point of 0");
  GptqTensors t;
  t.qweight = pack_rows(q.codes.t(), q.bits);                                // [K / per, N]
  t.qzeros = pack_rows(q.zeros.to(at::kInt) - 1, q.bits).t().contiguous();  // [G, N / per]
  t.scales = q.scales.t().contiguous();                                      // [G, N]
  t.g_idx = at::arange(q.cols, at::TensorOptions().dtype(at::kInt)).div(q.group_size, "floor").to(at::kInt);
  return t;
}

QuantizedMatrix from_gptq(const GptqTensors& t, const GptqLayout& layout, int64_t N, int64_t K, const std::string& name) {
  auto fail = [&](const std::string& problem) -> Error { return Error(cat(name, ": ", problem)); };
  const int bits = layout.bits;
  if (bits != 4 && bits != 8) throw fail(cat("GPTQ ", bits, "-bit weights are not supported (januskit runs 4 and 8 bits)"));
  const int per = 32 / bits;
  const int64_t group = layout.group_size > 0 ? std::min(layout.group_size, K) : K;
  const int64_t G = (K + group - 1) / group;
  auto expect = [&](const at::Tensor& x, const char* what, std::vector<int64_t> shape, bool integer) {
    if (!x.defined()) throw fail(cat("missing ", what));
    if (x.sizes() != at::IntArrayRef(shape)) {
      throw fail(cat(what, " is ", x.sizes(), ", expected ", at::IntArrayRef(shape), " for a [", N, ", ", K, "] ", bits,
                     "-bit layer with group size ", group));
    }
    if (integer != at::isIntegralType(x.scalar_type(), false)) throw fail(cat(what, " has dtype ", x.scalar_type()));
  };
  if (K % per != 0 || N % per != 0) throw fail(cat("a [", N, ", ", K, "] layer cannot be GPTQ-packed at ", bits, " bits"));
  expect(t.qweight, "qweight", {K / per, N}, true);
  expect(t.qzeros, "qzeros", {G, N / per}, true);
  expect(t.scales, "scales", {G, N}, false);
  if (t.qweight.element_size() != 4 || t.qzeros.element_size() != 4) throw fail("qweight and qzeros must be 32-bit integers");
  if (t.g_idx.defined()) {
    expect(t.g_idx, "g_idx", {K}, true);
    at::Tensor expected = at::arange(K, at::TensorOptions().dtype(at::kLong)).div(group, "floor");
    if (!at::equal(t.g_idx.to(at::kLong), expected)) {
      throw fail("g_idx is not k / group_size: act-order (desc_act) GPTQ checkpoints are not supported; "
                 "quantize with desc_act=false or let januskit quantize the original weights (--quant)");
    }
  }
  QuantizedMatrix q;
  q.bits = bits;
  q.rows = N;
  q.cols = K;
  q.group_size = group;
  q.codes = unpack_codes_transposed(t.qweight, bits, K);
  at::Tensor zeros = unpack_rows(t.qzeros.t().contiguous(), bits, N);  // [N, G], as stored
  if (layout.v1) zeros = zeros + 1;  // AutoGPTQ adds the 1 back without masking: 15 reads as 16 at 4 bits
  if (zeros.max().item<int>() > 255) throw fail("a zero point of 256 (v1 layout, stored 255) is not supported at 8 bits");
  q.zeros = zeros.to(at::kByte);
  q.scales = t.scales.to(at::kHalf).t().contiguous();
  validate(q, name);
  return q;
}

}  // namespace januskit::nn
