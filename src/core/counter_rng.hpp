// A counter-based random number: uniform(seed, counter) is a pure function, so the draw of step k of
// sample i depends only on (seed + i, k) — not on batch composition, thread count, or the device.
// The CUDA sampling kernel includes this header too, which is why CPU and GPU runs with the same
// probabilities pick the same tokens.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define JANUSKIT_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define JANUSKIT_HOST_DEVICE inline
#endif

namespace januskit {

// SplitMix64's finaliser: a bijective 64-bit mix with full avalanche.
JANUSKIT_HOST_DEVICE uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 53 random bits. Two rounds keep nearby (seed, counter) pairs unrelated.
JANUSKIT_HOST_DEVICE double counter_uniform(uint64_t seed, uint64_t counter) {
  uint64_t z = mix64(seed + 0x9E3779B97F4A7C15ull);
  z = mix64(z ^ (counter * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace januskit
