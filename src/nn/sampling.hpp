// The fused sampling tail on the GPU (kernels/sampling.cu): CFG mix -> vocabulary limit -> penalties
// -> argmax, or temperature -> top-k -> top-p -> min-p -> seeded inverse-CDF draw, in one kernel that
// reads the step counter from device memory and writes the tokens to device memory.
//
// The reference is engine::Sampler (with engine::cfg_mix before it); sample_fused_torch below is the
// same chain in plain LibTorch ops behind this function's interface (tests/unit/nn/test_sampling.cpp
// checks that it picks exactly what engine::Sampler picks). The kernel agrees with them on every
// greedy pick, and on seeded draws except at exact ties on a top-p cut or when a cumulative
// probability lands within float rounding of a boundary (kernels/sampling.cu explains both);
// tests/gpu/test_sampling.cpp compares them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace januskit::nn {

enum class CfgRows {
  none,         // logits [N, V]
  interleaved,  // logits [2N, V], rows (2n, 2n+1) = (cond, uncond)
  blocks        // logits [2N, V], rows n and N + n = (cond, uncond)
};

struct FusedSampling {
  CfgRows cfg = CfgRows::none;
  double cfg_weight = 1.0;          // uncond + w · (cond − uncond)
  int64_t vocab_limit = 0;          // > 0: ids >= vocab_limit are never drawn
  double repetition_penalty = 1.0;  // needs `seen`
  double presence_penalty = 0.0;    // these two need `counts`
  double frequency_penalty = 0.0;
  bool greedy = false;
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  double min_p = 0.0;
};

// True when this build has the kernel and `device` is a CUDA device.
bool fused_sampling_available(const c10::Device& device);

// logits [N or 2N, V] f32 contiguous; seeds [N] int64 (uint64 bit patterns); step [1] int64; tokens
// [N] int64 (written); history: undefined, or [steps, N] int64 receiving history[*step, n]; seen [N, V]
// bool and counts [N, V] f32 (undefined when their penalties are off); scratch [N, V] f32 (allocated
// when undefined or too small; pass the same tensor every step). All on one device. On CUDA (when
// compiled in) the kernel runs, with no host synchronisation; elsewhere the twin.
void sample_fused(const at::Tensor& logits, const FusedSampling& params, const at::Tensor& seeds,
                  const at::Tensor& step, at::Tensor& tokens, const at::Tensor& history, const at::Tensor& seen,
                  const at::Tensor& counts, at::Tensor& scratch);

// The twin in plain LibTorch ops (any device; it reads the step on the host, so on CUDA it
// synchronises and cannot be captured in a graph).
void sample_fused_torch(const at::Tensor& logits, const FusedSampling& params, const at::Tensor& seeds,
                        const at::Tensor& step, at::Tensor& tokens, const at::Tensor& history,
                        const at::Tensor& seen, const at::Tensor& counts);

}  // namespace januskit::nn
