// The sampling tail of a decode step in one kernel: logits in, token id out, no host involved.
//
// Design note. One block of 1024 threads per sampled row walks the row's vocabulary a few times
// (V is 16K–152K floats, which stay in L2 between passes):
//   1. mix (CFG), mask (vocabulary limit), penalise, divide by the temperature; store the row in the
//      scratch buffer and take its maximum — or, when greedy, its argmax (first index of the maximum),
//      which ends the work.
//   2. top-k: the k-th largest value by a three-pass radix select (11/11/10-bit digits of the
//      order-preserving integer key of each float, histograms in shared memory); ties with it stay,
//      as transformers keeps them.
//   3. top-p: transformers sorts ascending and drops the prefix whose cumulative probability is
//      <= 1 − p. Since the cumulative sum grows with the value, that prefix is "every value below the
//      first one whose cumulative sum exceeds 1 − p": the same radix passes find that value, with
//      histograms of probability mass instead of counts. Mass is summed in 62-bit fixed point, so the
//      sums are exact and independent of the order the atomics land in.
//   4. min-p against the largest remaining probability, then the softmax of what is left.
//   5. inverse-CDF draw: each thread sums its contiguous slice in f64, a block scan gives the slice
//      offsets, and the first index whose cumulative probability exceeds u · total wins, u being
//      counter_uniform(seed, step) — the CPU sampler's draw.
//
// Agreement with engine::Sampler. Every elementwise step rounds as the LibTorch ops do (f32, no FMA
// contraction), the top-k value is exact, and the draw uses the same uniform and the same search, so
// with the same logits the two pick the same token except (a) at exact ties on a cut: this kernel
// keeps every token equal to the top-p boundary value (and every token tied for the maximum when top-p
// keeps a single one), while the CPU's sort order decides which of the tied tokens it drops; and
// (b) when a cumulative probability lands within float rounding of 1 − p or of u · total, because the
// exponentials of the softmax are computed by different libraries (CUDA's expf, LibTorch's vectorised
// exp), which differ in the last bits. Greedy decoding has neither case and always agrees.
#include <cmath>

#include "core/counter_rng.hpp"
#include "kernels/common.cuh"

namespace januskit::kernels {
namespace {

constexpr int kThreads = 1024;
constexpr int kBins = 2048;                       // 11-bit digits
constexpr double kFixedOne = 4611686018427387904.0;  // 2^62: probability 1 in fixed point

// Order-preserving map of floats onto unsigned integers (larger float, larger key).
__device__ __forceinline__ uint32_t order_key(float f) {
  const uint32_t b = __float_as_uint(f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ float key_value(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

__device__ __forceinline__ unsigned long long to_fixed(float p) {
  return static_cast<unsigned long long>(static_cast<double>(p) * kFixedOne);
}

// The radix digit passes: (shift, bins) for bits 31..21, 20..10, 9..0.
__device__ __forceinline__ int pass_shift(int pass) { return pass == 0 ? 21 : pass == 1 ? 10 : 0; }
__device__ __forceinline__ int pass_bins(int pass) { return pass == 2 ? 1024 : kBins; }

// Argmax over the warp with first-index tie breaking: every lane ends with the winner.
__device__ __forceinline__ void warp_argmax(float& value, int64_t& index) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, value, offset);
    const int64_t oi = __shfl_xor_sync(0xffffffffu, index, offset);
    if (ov > value || (ov == value && oi < index)) {
      value = ov;
      index = oi;
    }
  }
}

// Argmax over the block with first-index tie breaking; every thread gets the index.
__device__ int64_t block_argmax(float value, int64_t index) {
  __shared__ float sv[32];
  __shared__ int64_t si[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  warp_argmax(value, index);
  __syncthreads();
  if (lane == 0) {
    sv[warp] = value;
    si[warp] = index;
  }
  __syncthreads();
  value = lane < kThreads / 32 ? sv[lane] : -INFINITY;
  index = lane < kThreads / 32 ? si[lane] : INT64_MAX;
  warp_argmax(value, index);
  return index;
}

__device__ float block_max(float v) {
  __shared__ float partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < kThreads / 32 ? partial[lane] : -INFINITY;
  return warp_max(v);
}

__device__ int64_t block_min_index(int64_t v) {
  __shared__ unsigned long long best;
  __syncthreads();
  if (threadIdx.x == 0) best = ~0ull;
  __syncthreads();
  if (v >= 0) atomicMin(&best, static_cast<unsigned long long>(v));
  __syncthreads();
  return best == ~0ull ? -1 : static_cast<int64_t>(best);
}

__global__ void __launch_bounds__(kThreads) sample_kernel(SampleArgs a) {
  __shared__ unsigned int counts[kBins];
  __shared__ unsigned long long mass[kBins];
  __shared__ uint32_t chosen_digit;
  __shared__ unsigned long long chosen_rest;
  __shared__ int chosen_found;

  const int64_t n = blockIdx.x, V = a.vocab;
  const int tid = threadIdx.x;
  const int64_t step = *a.step;
  float* row = a.scratch != nullptr ? a.scratch + n * V : nullptr;

  // --- 1. logits of this row ------------------------------------------------------------------
  const float* cond = a.logits + (a.cfg == 0 ? n : a.cfg == 1 ? 2 * n : n) * V;
  const float* uncond = a.cfg == 0 ? nullptr : a.logits + (a.cfg == 1 ? 2 * n + 1 : a.rows + n) * V;
  const uint8_t* seen = a.seen != nullptr ? a.seen + n * V : nullptr;
  const float* counts_row = a.counts != nullptr ? a.counts + n * V : nullptr;
  float best = -INFINITY;
  int64_t best_index = INT64_MAX;
  for (int64_t i = tid; i < V; i += kThreads) {
    float l = cond[i];
    if (uncond != nullptr) l = add_rn(uncond[i], mul_rn(a.cfg_weight, sub_rn(l, uncond[i])));
    if (a.vocab_limit > 0 && i >= a.vocab_limit) l = -INFINITY;
    if (seen != nullptr && seen[i]) l = l > 0.0f ? __fdiv_rn(l, a.repetition_penalty) : mul_rn(l, a.repetition_penalty);
    if (counts_row != nullptr) {
      const float c = counts_row[i];
      l = sub_rn(l, add_rn(mul_rn(c, a.frequency_penalty), c > 0.0f ? a.presence_penalty : 0.0f));
    }
    if (!a.greedy && a.temperature != 1.0f) l = __fdiv_rn(l, a.temperature);
    if (l > best || (l == best && i < best_index)) {
      best = l;
      best_index = i;
    }
    if (!a.greedy) row[i] = l;
  }
  int64_t token;
  if (a.greedy) {
    token = block_argmax(best, best_index);
  } else {
    const float mx = block_max(best);
    __syncthreads();  // the row in scratch is complete

    // --- 2. top-k: the k-th largest value --------------------------------------------------------
    float cut = -INFINITY;
    if (a.top_k > 0 && a.top_k < V) {
      uint32_t prefix = 0, mask = 0;
      unsigned long long rest = static_cast<unsigned long long>(a.top_k);  // rank still to find, from the top
      for (int pass = 0; pass < 3; ++pass) {
        const int shift = pass_shift(pass), bins = pass_bins(pass);
        for (int d = tid; d < bins; d += kThreads) counts[d] = 0;
        __syncthreads();
        for (int64_t i = tid; i < V; i += kThreads) {
          const uint32_t key = order_key(row[i]);
          if ((key & mask) == prefix) atomicAdd(&counts[(key >> shift) & (bins - 1)], 1u);
        }
        __syncthreads();
        // Thread t owns digits in descending order: bins/kThreads of them (2 or 1).
        const int per = bins / kThreads;
        unsigned int local = 0;
        for (int j = 0; j < per; ++j) local += counts[bins - 1 - (tid * per + j)];
        const unsigned int incl = block_inclusive_scan<unsigned int>(local);
        const unsigned int excl = incl - local;
        if (excl < rest && rest <= incl) {
          unsigned long long above = excl;
          for (int j = 0; j < per; ++j) {
            const int d = bins - 1 - (tid * per + j);
            if (above + counts[d] >= rest) {
              chosen_digit = static_cast<uint32_t>(d);
              chosen_rest = rest - above;
              break;
            }
            above += counts[d];
          }
        }
        __syncthreads();
        prefix |= chosen_digit << shift;
        mask |= static_cast<uint32_t>(bins - 1) << shift;
        rest = chosen_rest;
        __syncthreads();
      }
      cut = key_value(prefix);
    }

    // --- 3. top-p: the smallest value kept ---------------------------------------------------------
    if (a.top_p < 1.0) {
      float z = 0.0f;
      for (int64_t i = tid; i < V; i += kThreads) {
        if (row[i] >= cut) z += expf(row[i] - mx);
      }
      z = block_sum(z);
      const float threshold = static_cast<float>(1.0 - a.top_p);
      uint32_t prefix = 0, mask = 0;
      unsigned long long below = 0;  // fixed-point mass of the keys below the current prefix range
      bool found = true;
      for (int pass = 0; pass < 3 && found; ++pass) {
        const int shift = pass_shift(pass), bins = pass_bins(pass);
        for (int d = tid; d < bins; d += kThreads) mass[d] = 0;
        if (tid == 0) chosen_found = 0;
        __syncthreads();
        for (int64_t i = tid; i < V; i += kThreads) {
          const float l = row[i];
          if (l < cut) continue;
          const uint32_t key = order_key(l);
          if ((key & mask) == prefix) atomicAdd(&mass[(key >> shift) & (bins - 1)], to_fixed(expf(l - mx) / z));
        }
        __syncthreads();
        // Thread t owns digits in ascending order. The crossing digit is the first whose cumulative
        // mass, as the f32 the CPU compares, exceeds 1 − p.
        const int per = bins / kThreads;
        unsigned long long local = 0;
        for (int j = 0; j < per; ++j) local += mass[tid * per + j];
        const unsigned long long incl = block_inclusive_scan<unsigned long long>(local);
        auto exceeds = [&](unsigned long long fixed) {
          return static_cast<float>(static_cast<double>(fixed) / kFixedOne) > threshold;
        };
        if (exceeds(below + incl) && !exceeds(below + incl - local)) {
          unsigned long long run = below + incl - local;
          for (int j = 0; j < per; ++j) {
            const int d = tid * per + j;
            if (exceeds(run + mass[d])) {
              chosen_digit = static_cast<uint32_t>(d);
              chosen_rest = run;
              chosen_found = 1;
              break;
            }
            run += mass[d];
          }
        }
        __syncthreads();
        found = chosen_found != 0;
        if (found) {
          prefix |= chosen_digit << shift;
          mask |= static_cast<uint32_t>(bins - 1) << shift;
          below = chosen_rest;
        }
        __syncthreads();
      }
      // No crossing at all (rounding with p near 0): only the most likely token survives.
      cut = found ? key_value(prefix) : mx;
    }

    // --- 4. min-p, then the softmax of the survivors ------------------------------------------------
    float min_p_floor = -1.0f;  // kept: exp(l − max) / z >= min_p_floor
    float z = 0.0f;
    for (int64_t i = tid; i < V; i += kThreads) {
      if (row[i] >= cut) z += expf(row[i] - mx);
    }
    z = block_sum(z);
    if (a.min_p > 0.0f) {
      min_p_floor = mul_rn(1.0f / z, a.min_p);  // the top probability is exp(0) / z
      float z2 = 0.0f;
      for (int64_t i = tid; i < V; i += kThreads) {
        const float l = row[i];
        if (l >= cut && !(expf(l - mx) / z < min_p_floor)) z2 += expf(l - mx);
      }
      z2 = block_sum(z2);
      // The survivors' softmax; the test for survival uses the normaliser before min-p, as the CPU does.
      for (int64_t i = tid; i < V; i += kThreads) {
        const float l = row[i];
        const bool keep = l >= cut && !(expf(l - mx) / z < min_p_floor);
        row[i] = keep ? expf(l - mx) / z2 : 0.0f;
      }
    } else {
      for (int64_t i = tid; i < V; i += kThreads) {
        const float l = row[i];
        row[i] = l >= cut ? expf(l - mx) / z : 0.0f;
      }
    }
    __syncthreads();

    // --- 5. inverse-CDF draw ------------------------------------------------------------------------
    const int64_t slice = (V + kThreads - 1) / kThreads;
    const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(tid) * slice, V);
    const int64_t i1 = std::min<int64_t>(i0 + slice, V);
    double local = 0.0;
    for (int64_t i = i0; i < i1; ++i) local += static_cast<double>(row[i]);
    double total = 0.0;
    const double incl = block_inclusive_scan<double>(local, &total);
    const double target = counter_uniform(static_cast<uint64_t>(a.seeds[n]), static_cast<uint64_t>(step)) * total;
    int64_t mine = -1;
    double run = incl - local;
    for (int64_t i = i0; i < i1; ++i) {
      run += static_cast<double>(row[i]);
      if (run > target) {
        mine = i;
        break;
      }
    }
    token = block_min_index(mine);
    if (token < 0) token = V - 1;
  }
  if (tid == 0) {
    a.tokens[n] = token;
    if (a.history != nullptr && step >= 0 && step < a.history_steps) a.history[step * a.rows + n] = token;
  }
}

}  // namespace

void sample(const SampleArgs& args, cudaStream_t stream) {
  if (args.rows == 0) return;
  if (!args.greedy && args.scratch == nullptr) throw std::invalid_argument("sample: drawing needs a scratch buffer");
  sample_kernel<<<static_cast<unsigned>(args.rows), kThreads, 0, stream>>>(args);
  check_launch("sample");
}

}  // namespace januskit::kernels
