// Weight-only quantized matmul for the int8 layers and the int4 shapes LibTorch's tinygemm refuses.
//
// Design note: LibTorch's CUDA _weight_int8pack_mm computes one output per thread with a strided walk
// over the weight row (uncoalesced, f32 only), so decode goes through this kernel instead: one warp per
// output row; every lane reads 16 bytes of codes at a time (16 int8 or 32 int4 codes, consecutive in
// the row, so a warp reads 512 contiguous bytes per step), subtracts the group's zero point, and
// multiplies by up to 8 activation rows, so a decode batch reads the weights once. A 16-byte chunk never
// straddles a group (groups are multiples of 32 inputs), so each chunk applies one scale. Prefill
// dequantizes the layer into the activation dtype and lets cuBLAS run the GEMM on tensor cores: at
// hundreds of rows the GEMM dominates and the extra pass over the weights is small.
#include "kernels/common.cuh"

namespace januskit::kernels {
namespace {

constexpr int kWarpsPerBlock = 4;

template <int Bits>
constexpr int codes_per_chunk() {
  return Bits == 8 ? 16 : 32;
}

template <int Bits>
__device__ __forceinline__ void decode_chunk(const uint8_t* row, int64_t k0, float zero, float (&w)[codes_per_chunk<Bits>()]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(row + (Bits == 8 ? k0 : k0 / 2));
  const uint8_t* b = reinterpret_cast<const uint8_t*>(&raw);
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    if constexpr (Bits == 8) {
      w[j] = static_cast<float>(b[j]) - zero;
    } else {
      w[2 * j] = static_cast<float>(b[j] & 0x0f) - zero;
      w[2 * j + 1] = static_cast<float>(b[j] >> 4) - zero;
    }
  }
}

template <typename T, int Bits, int M>
__global__ void quant_gemv_kernel(QuantMatmulArgs a) {
  constexpr int C = codes_per_chunk<Bits>();
  const int lane = threadIdx.x % 32;
  const int64_t n = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (n >= a.N) return;  // the whole warp leaves together
  const uint8_t* row = a.codes + n * (Bits == 8 ? a.K : a.K / 2);
  const T* x = static_cast<const T*>(a.x);
  float sum[M];
#pragma unroll
  for (int m = 0; m < M; ++m) sum[m] = 0.0f;
  for (int64_t k0 = static_cast<int64_t>(lane) * C; k0 < a.K; k0 += 32 * C) {
    const int64_t g = min(k0 / a.group, a.groups - 1);
    const float scale = __half2float(__ushort_as_half(a.scales[n * a.groups + g]));
    float w[C];
    decode_chunk<Bits>(row, k0, static_cast<float>(a.zeros[n * a.groups + g]), w);
#pragma unroll
    for (int m = 0; m < M; ++m) {
      const T* xr = x + m * a.ldx + k0;
      float acc = 0.0f;
#pragma unroll
      for (int j = 0; j < C; ++j) acc = fmaf(w[j], to_float(xr[j]), acc);
      sum[m] = fmaf(scale, acc, sum[m]);
    }
  }
  T* y = static_cast<T*>(a.y);
  const T* bias = static_cast<const T*>(a.bias);
#pragma unroll
  for (int m = 0; m < M; ++m) {
    const float total = warp_sum(sum[m]);
    if (lane == 0) y[m * a.ldy + n] = from_float<T>(bias != nullptr ? total + to_float(bias[n]) : total);
  }
}

template <typename T, int Bits>
__global__ void dequantize_kernel(QuantMatmulArgs a, T* __restrict__ weight) {
  const int64_t total = a.N * a.K;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = i / a.K, k = i % a.K;
    const int64_t g = min(k / a.group, a.groups - 1);
    int code;
    if constexpr (Bits == 8) {
      code = a.codes[i];
    } else {
      const uint8_t byte = a.codes[n * (a.K / 2) + k / 2];
      code = (k % 2 == 0) ? (byte & 0x0f) : (byte >> 4);
    }
    const float scale = __half2float(__ushort_as_half(a.scales[n * a.groups + g]));
    weight[i] = from_float<T>(scale * (static_cast<float>(code) - static_cast<float>(a.zeros[n * a.groups + g])));
  }
}

template <typename T, int Bits>
void launch_gemv(const QuantMatmulArgs& a, cudaStream_t stream) {
  const dim3 block(32 * kWarpsPerBlock);
  const dim3 grid(static_cast<unsigned>((a.N + kWarpsPerBlock - 1) / kWarpsPerBlock));
  switch (a.M) {
    case 1: quant_gemv_kernel<T, Bits, 1><<<grid, block, 0, stream>>>(a); break;
    case 2: quant_gemv_kernel<T, Bits, 2><<<grid, block, 0, stream>>>(a); break;
    case 3: quant_gemv_kernel<T, Bits, 3><<<grid, block, 0, stream>>>(a); break;
    case 4: quant_gemv_kernel<T, Bits, 4><<<grid, block, 0, stream>>>(a); break;
    case 5: quant_gemv_kernel<T, Bits, 5><<<grid, block, 0, stream>>>(a); break;
    case 6: quant_gemv_kernel<T, Bits, 6><<<grid, block, 0, stream>>>(a); break;
    case 7: quant_gemv_kernel<T, Bits, 7><<<grid, block, 0, stream>>>(a); break;
    default: quant_gemv_kernel<T, Bits, 8><<<grid, block, 0, stream>>>(a); break;
  }
}

}  // namespace

bool quant_matmul_supports(int bits, int64_t K, int64_t group) {
  return (bits == 4 || bits == 8) && K > 0 && K % 32 == 0 && group > 0 && (group % 32 == 0 || group >= K);
}

void quant_gemv(const QuantMatmulArgs& args, DType dtype, cudaStream_t stream) {
  if (args.M <= 0 || args.N <= 0) return;
  if (args.M > kQuantGemvMaxRows || !quant_matmul_supports(args.bits, args.K, args.group)) {
    throw std::invalid_argument("quant_gemv: unsupported shape (M <= 8, K a multiple of 32, group a multiple of 32)");
  }
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    if (args.bits == 8) {
      launch_gemv<T, 8>(args, stream);
    } else {
      launch_gemv<T, 4>(args, stream);
    }
  });
  check_launch("quant_gemv");
}

void quant_dequantize(const QuantMatmulArgs& args, void* weight, DType dtype, cudaStream_t stream) {
  if (args.N <= 0 || args.K <= 0) return;
  dispatch_dtype(dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const int threads = 256;
    const auto blocks = static_cast<unsigned>(std::min<int64_t>((args.N * args.K + threads - 1) / threads, 65535));
    if (args.bits == 8) {
      dequantize_kernel<T, 8><<<blocks, threads, 0, stream>>>(args, static_cast<T*>(weight));
    } else {
      dequantize_kernel<T, 4><<<blocks, threads, 0, stream>>>(args, static_cast<T*>(weight));
    }
  });
  check_launch("quant_dequantize");
}

}  // namespace januskit::kernels
