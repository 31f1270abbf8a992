// Helpers shared by the kernels: type conversion to/from f32, 16-byte vector access, rounding-exact
// arithmetic, block reductions and scans.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/kernels.hpp"

namespace januskit::kernels {

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }

// x rounded to T and back: the value a LibTorch op on T tensors would have stored.
template <typename T>
__device__ __forceinline__ float round_to(float v) { return to_float(from_float<T>(v)); }

// Products and sums that the compiler may not contract into an FMA: where a kernel mirrors a chain of
// separate LibTorch ops (each rounding to f32), it must round at the same places.
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }

// N elements of T moved as one 16-byte access (the pointer must be 16-byte aligned).
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};
template <typename T>
constexpr int kPack = 16 / static_cast<int>(sizeof(T));

template <typename T>
__device__ __forceinline__ Pack<T, kPack<T>> load_pack(const T* base, int64_t index) {
  return reinterpret_cast<const Pack<T, kPack<T>>*>(base)[index];
}
template <typename T>
__device__ __forceinline__ void store_pack(T* base, int64_t index, const Pack<T, kPack<T>>& p) {
  reinterpret_cast<Pack<T, kPack<T>>*>(base)[index] = p;
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum over the whole block; every thread gets the result. blockDim.x must be a multiple of 32.
__device__ __forceinline__ float block_sum(float v) {
  __shared__ float partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_sum(v);
  __syncthreads();  // partial[] may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  v = lane < warps ? partial[lane] : 0.0f;
  return warp_sum(v);
}

// Inclusive prefix sum over the block in thread order, for any T with + (float, double, uint64):
// thread i gets v_0 + ... + v_i; `total` (optional) gets the sum of all. blockDim.x must be a multiple
// of 32. Deterministic: the association order depends only on the block size.
template <typename T>
__device__ __forceinline__ T block_inclusive_scan(T v, T* total = nullptr) {
  __shared__ T warp_totals[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int offset = 1; offset < 32; offset <<= 1) {
    T other = __shfl_up_sync(0xffffffffu, v, offset);
    if (lane >= offset) v += other;
  }
  __syncthreads();  // warp_totals may still be read by a previous call
  if (lane == 31) warp_totals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    T w = lane < warps ? warp_totals[lane] : T(0);
    for (int offset = 1; offset < 32; offset <<= 1) {
      T other = __shfl_up_sync(0xffffffffu, w, offset);
      if (lane >= offset) w += other;
    }
    if (lane < warps) warp_totals[lane] = w;  // inclusive totals of warps 0..lane
  }
  __syncthreads();
  if (warp > 0) v += warp_totals[warp - 1];
  if (total != nullptr) *total = warp_totals[warps - 1];
  return v;
}

// Launch errors become exceptions with the kernel's name; the caller turns them into `error:` lines.
inline void check_launch(const char* kernel) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA kernel ") + kernel + " failed to launch: " + cudaGetErrorString(err));
  }
}

// Calls f with a typed null pointer selecting the element type of `dtype`.
template <typename F>
void dispatch_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32: f(static_cast<float*>(nullptr)); break;
    case DType::bf16: f(static_cast<__nv_bfloat16*>(nullptr)); break;
    case DType::f16: f(static_cast<__half*>(nullptr)); break;
  }
}

}  // namespace januskit::kernels
