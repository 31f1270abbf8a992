// A stable ascending argsort of f32 keys by least-significant-digit radix sort: the same result as
// at::sort(stable=true) — NaNs last, -0 and +0 equal, ties in index order — in three linear passes
// instead of a comparison sort. Top-p sampling sorts the whole vocabulary (152K logits for Qwen) every
// decode step; LibTorch's introsort took 6 ms of a 50 ms step on the development machine.
#pragma once

#include <cstdint>
#include <vector>

namespace januskit {

// Scratch reused across calls (one per thread that sorts).
struct RadixSortScratch {
  std::vector<uint32_t> keys[2];
  std::vector<uint32_t> index[2];
};

// values_out[i] = x[order_out[i]], with order_out the stable ascending permutation of x[0 .. n).
// n < 2^32.
void radix_argsort_ascending(const float* x, int64_t n, float* values_out, int64_t* order_out, RadixSortScratch& scratch);

}  // namespace januskit
