#include "nn/quant_cpu.hpp"

#include <ATen/ATen.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "core/parallel.hpp"

namespace januskit::nn {

// ---------------------------------------------------------------------------------------------------
// Kernel choice

bool cpu_kernel_available(CpuKernel kernel) {
  switch (kernel) {
    case CpuKernel::plain: return true;
#if defined(__x86_64__) || defined(_M_X64)
    case CpuKernel::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case CpuKernel::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vnni") &&
             __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    default: return false;
#endif
  }
  return false;
}

std::string cpu_kernel_name(CpuKernel kernel) {
  switch (kernel) {
    case CpuKernel::plain: return "plain";
    case CpuKernel::avx2: return "avx2";
    case CpuKernel::avx512: return "avx512-vnni";
  }
  return "?";
}

CpuKernel default_cpu_kernel() {
  static const CpuKernel chosen = [] {
    if (const char* forced = std::getenv("JANUSKIT_CPU_KERNELS"); forced != nullptr && *forced != '\0') {
      const std::string name = forced;
      for (CpuKernel k : {CpuKernel::plain, CpuKernel::avx2, CpuKernel::avx512}) {
        if (name == cpu_kernel_name(k) || (k == CpuKernel::avx512 && name == "avx512")) {
          if (!cpu_kernel_available(k)) throw Error(cat("JANUSKIT_CPU_KERNELS=", name, ": this CPU cannot run them"));
          return k;
        }
      }
      throw Error(cat("JANUSKIT_CPU_KERNELS: expected plain, avx2 or avx512, got '", name, "'"));
    }
    if (cpu_kernel_available(CpuKernel::avx512)) return CpuKernel::avx512;
    if (cpu_kernel_available(CpuKernel::avx2)) return CpuKernel::avx2;
    return CpuKernel::plain;
  }();
  return chosen;
}

// ---------------------------------------------------------------------------------------------------
// Packing

int64_t CpuQuantizedWeight::bytes() const {
  int64_t b = data.numel() + scales.numel() * 2 + zeros.numel();
  if (bias.defined()) b += bias.numel() * 4;
  return b;
}

std::shared_ptr<CpuQuantizedWeight> pack_for_cpu(const QuantizedMatrix& q, const at::Tensor& bias) {
  using cpu::kBlock;
  using cpu::kTileRows;
  const int64_t N = q.rows, K = q.cols, G = q.groups();
  if (!q.per_channel() && q.group_size % kBlock != 0) {
    throw Error(cat("group size ", q.group_size, " is not supported by the CPU kernels (multiples of 32, or one group per row)"));
  }
  auto w = std::make_shared<CpuQuantizedWeight>();
  cpu::PackedWeights& v = w->view;
  v.bits = q.bits;
  v.rows = N;
  v.cols = K;
  v.tiles = (N + kTileRows - 1) / kTileRows;
  v.blocks = (K + kBlock - 1) / kBlock;
  v.groups = G;
  v.group_blocks = q.per_channel() ? v.blocks : q.group_size / kBlock;
  const int64_t bb = cpu::block_bytes(q.bits);
  w->data = at::zeros({v.tiles, v.blocks, bb}, at::TensorOptions().dtype(at::kByte));
  w->scales = at::zeros({v.tiles, G, kTileRows}, at::TensorOptions().dtype(at::kShort));
  w->zeros = at::zeros({v.tiles, G, kTileRows}, at::TensorOptions().dtype(at::kByte));

  const at::Tensor codes = q.codes.contiguous(), scales = q.scales.contiguous(), zeros = q.zeros.contiguous();
  const uint8_t* c = codes.data_ptr<uint8_t>();
  const uint16_t* s = reinterpret_cast<const uint16_t*>(scales.data_ptr<at::Half>());
  const uint8_t* z = zeros.data_ptr<uint8_t>();
  uint8_t* data = w->data.data_ptr<uint8_t>();
  uint16_t* ps = reinterpret_cast<uint16_t*>(w->scales.data_ptr<int16_t>());
  uint8_t* pz = w->zeros.data_ptr<uint8_t>();
  at::parallel_for(0, v.tiles, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int n = 0; n < kTileRows; ++n) {
        const int64_t row = t * kTileRows + n;
        if (row >= N) break;
        const uint8_t* src = c + row * K;
        for (int64_t g = 0; g < G; ++g) {
          ps[(t * G + g) * kTileRows + n] = s[row * G + g];
          pz[(t * G + g) * kTileRows + n] = z[row * G + g];
        }
        for (int64_t b = 0; b < v.blocks; ++b) {
          uint8_t* block = data + (t * v.blocks + b) * bb;
          auto code = [&](int64_t k) -> uint8_t { return k < K ? src[k] : 0; };
          const int64_t k0 = b * kBlock;
          if (q.bits == 8) {
            for (int vec = 0; vec < 8; ++vec) {
              for (int j = 0; j < 4; ++j) block[64 * vec + 4 * n + j] = code(k0 + 4 * vec + j);
            }
          } else {
            for (int vec = 0; vec < 4; ++vec) {
              for (int j = 0; j < 4; ++j) {
                block[64 * vec + 4 * n + j] =
                    static_cast<uint8_t>(code(k0 + 8 * vec + j) | (code(k0 + 8 * vec + 4 + j) << 4));
              }
            }
          }
        }
      }
    }
  });
  v.data = data;
  v.scales = ps;
  v.zeros = pz;
  if (bias.defined()) {
    w->bias = at::zeros({v.tiles * kTileRows}, at::TensorOptions().dtype(at::kFloat));
    w->bias.narrow(0, 0, N).copy_(bias.to(at::kCPU).to(at::kFloat));
    v.bias = w->bias.data_ptr<float>();
  }
  return w;
}

// ---------------------------------------------------------------------------------------------------
// The call

namespace {

cpu::Element element_of(const at::Tensor& x) {
  if (x.scalar_type() == at::kFloat) return cpu::Element::f32;
  if (x.scalar_type() == at::kBFloat16) return cpu::Element::bf16;
  throw Error(cat("quantized linear layers on the CPU take f32 or bf16 activations, got ", x.scalar_type()));
}

// Per-thread scratch for the quantized activations: reused across calls (a decode step makes ~100).
struct Scratch {
  std::vector<int8_t> q;
  std::vector<float> scale, group_sum;
  std::vector<int32_t> sum;
};

cpu::QuantizedActivations quantize_into(Scratch& s, const at::Tensor& x2, int64_t K, int64_t blocks, int64_t groups,
                                        int64_t group_blocks, CpuKernel kernel) {
  const int64_t M = x2.size(0);
  s.q.resize(static_cast<size_t>(M * blocks * cpu::kBlock));
  s.scale.resize(static_cast<size_t>(M * blocks));
  s.sum.resize(static_cast<size_t>(M * blocks));
  s.group_sum.resize(static_cast<size_t>(M * groups));
  const cpu::ActivationBuffers out{s.q.data(), s.scale.data(), s.sum.data(), s.group_sum.data()};
  const cpu::Element type = element_of(x2);
  const void* data = x2.data_ptr();
  const int64_t ldx = x2.stride(0);
  // Rows are independent; only worth threads for prefill-sized inputs.
  at::parallel_for(0, M, std::max<int64_t>(1, 16384 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
#if defined(__x86_64__) || defined(_M_X64)
    if (kernel == CpuKernel::avx512) {
      cpu::quantize_activations_avx512(data, type, ldx, K, blocks, groups, group_blocks, r0, r1, out);
      return;
    }
#endif
    cpu::quantize_activations_plain(data, type, ldx, K, blocks, groups, group_blocks, r0, r1, out);
  });
  cpu::QuantizedActivations a;
  a.rows = M;
  a.blocks = blocks;
  a.groups = groups;
  a.group_blocks = group_blocks;
  a.q = s.q.data();
  a.scale = s.scale.data();
  a.sum = s.sum.data();
  a.group_sum = s.group_sum.data();
  return a;
}

at::Tensor rows_of(const at::Tensor& x, int64_t K) {
  at::Tensor x2 = x.reshape({-1, K});
  return x2.stride(1) == 1 ? x2 : x2.contiguous();
}

}  // namespace

at::Tensor quant_linear_cpu(const at::Tensor& x, const CpuQuantizedWeight& w, std::optional<CpuKernel> kernel_request) {
  const cpu::PackedWeights& v = w.view;
  TORCH_CHECK(x.device().is_cpu() && x.size(-1) == v.cols, "quant_linear_cpu: expected CPU input [..., ", v.cols, "], got ",
              x.sizes(), " on ", x.device());
  const CpuKernel kernel = kernel_request.value_or(default_cpu_kernel());
  if (!cpu_kernel_available(kernel)) throw Error(cat("the ", cpu_kernel_name(kernel), " kernels do not run on this CPU"));
  const at::Tensor x2 = rows_of(x, v.cols);
  const int64_t M = x2.size(0);
  std::vector<int64_t> out_shape(x.sizes().begin(), x.sizes().end());
  out_shape.back() = v.rows;
  at::Tensor out = at::empty({M, v.rows}, x.options());
  if (M == 0) return out.view(out_shape);

  thread_local Scratch scratch;
  const cpu::QuantizedActivations a = quantize_into(scratch, x2, v.cols, v.blocks, v.groups, v.group_blocks, kernel);
  const cpu::Element type = element_of(x2);
  void* dst = out.data_ptr();
  // Enough multiply-adds per chunk that a thread hand-off (a few µs) is noise.
  const int64_t per_tile = cpu::kTileRows * v.cols * M;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 17) / std::max<int64_t>(per_tile, 1));
  at::parallel_for(0, v.tiles, grain, [&](int64_t t0, int64_t t1) {
    switch (kernel) {
#if defined(__x86_64__) || defined(_M_X64)
      case CpuKernel::avx512: cpu::quant_matmul_avx512(v, a, t0, t1, dst, type, v.rows); return;
      case CpuKernel::avx2: cpu::quant_matmul_avx2(v, a, t0, t1, dst, type, v.rows); return;
#endif
      default: cpu::quant_matmul_plain(v, a, t0, t1, dst, type, v.rows); return;
    }
  });
  return out.view(out_shape);
}

QuantizedActivationTensors quantize_activations(const at::Tensor& x, int64_t group_size, std::optional<CpuKernel> kernel) {
  const int64_t K = x.size(-1);
  const at::Tensor x2 = rows_of(x, K);
  const int64_t blocks = (K + cpu::kBlock - 1) / cpu::kBlock;
  const int64_t group_blocks = group_size >= K ? blocks : group_size / cpu::kBlock;
  TORCH_CHECK(group_blocks > 0, "quantize_activations: group size must be a multiple of 32 or cover the row");
  const int64_t groups = (blocks + group_blocks - 1) / group_blocks;
  Scratch s;
  const CpuKernel k = kernel.value_or(default_cpu_kernel());
  quantize_into(s, x2, K, blocks, groups, group_blocks, k);
  const int64_t M = x2.size(0);
  QuantizedActivationTensors t;
  t.q = at::from_blob(s.q.data(), {M, blocks * cpu::kBlock}, at::TensorOptions().dtype(at::kChar)).clone();
  t.scale = at::from_blob(s.scale.data(), {M, blocks}, at::TensorOptions().dtype(at::kFloat)).clone();
  t.sum = at::from_blob(s.sum.data(), {M, blocks}, at::TensorOptions().dtype(at::kInt)).clone();
  t.group_sum = at::from_blob(s.group_sum.data(), {M, groups}, at::TensorOptions().dtype(at::kFloat)).clone();
  return t;
}

}  // namespace januskit::nn
