#include "nn/sampling.hpp"

#include <ATen/ATen.h>

#include <limits>
#include <tuple>
#include <vector>

#include "core/counter_rng.hpp"
#include "core/error.hpp"
#include "nn/cuda_dispatch.hpp"

namespace januskit::nn {

bool fused_sampling_available(const c10::Device& device) {
#ifdef JANUSKIT_HAVE_CUDA
  return device.is_cuda();
#else
  (void)device;
  return false;
#endif
}

void sample_fused_torch(const at::Tensor& logits, const FusedSampling& p, const at::Tensor& seeds,
                        const at::Tensor& step, at::Tensor& tokens, const at::Tensor& history,
                        const at::Tensor& seen, const at::Tensor& counts) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int64_t n = tokens.numel();
  // The same LibTorch ops, in the same order, as engine::cfg_mix and engine::Sampler::sample.
  at::Tensor l;
  if (p.cfg == CfgRows::none) {
    l = logits.to(at::kFloat).clone();
  } else {
    at::Tensor cond, uncond;
    if (p.cfg == CfgRows::interleaved) {
      at::Tensor pairs = logits.unflatten(0, {-1, 2});
      cond = pairs.select(1, 0);
      uncond = pairs.select(1, 1);
    } else {
      cond = logits.narrow(0, 0, n);
      uncond = logits.narrow(0, n, n);
    }
    l = (uncond + p.cfg_weight * (cond - uncond)).to(at::kFloat).clone();
  }
  const int64_t V = l.size(-1);
  if (p.vocab_limit > 0 && p.vocab_limit < V) l.narrow(-1, p.vocab_limit, V - p.vocab_limit).fill_(kNegInf);
  if (seen.defined() && p.repetition_penalty != 1.0) {
    const double r = p.repetition_penalty;
    l = at::where(seen, at::where(l > 0, l / r, l * r), l);
  }
  if (counts.defined() && (p.presence_penalty != 0.0 || p.frequency_penalty != 0.0)) {
    l -= counts * p.frequency_penalty + (counts > 0).to(at::kFloat) * p.presence_penalty;
  }
  const int64_t s = step.item<int64_t>();
  at::Tensor picked;
  if (p.greedy) {
    picked = l.argmax(-1);
  } else {
    if (p.temperature > 0 && p.temperature != 1.0) l.div_(p.temperature);
    if (p.top_k > 0 && p.top_k < V) {
      at::Tensor kth = std::get<0>(l.topk(p.top_k, -1)).narrow(-1, p.top_k - 1, 1);
      l.masked_fill_(l < kth, kNegInf);  // ties with the k-th value stay
    }
    if (p.top_p < 1.0) {
      auto [sorted, order] = l.sort(/*stable=*/true, /*dim=*/-1, /*descending=*/false);
      at::Tensor remove_sorted = sorted.softmax(-1).cumsum(-1) <= (1.0 - p.top_p);
      remove_sorted.narrow(-1, V - 1, 1).fill_(false);
      l.masked_fill_(at::empty_like(remove_sorted).scatter_(-1, order, remove_sorted), kNegInf);
    }
    if (p.min_p > 0.0) {
      at::Tensor probs = l.softmax(-1);
      l.masked_fill_(probs < std::get<0>(probs.max(-1, /*keepdim=*/true)) * p.min_p, kNegInf);
    }
    at::Tensor seeds_cpu = seeds.to(at::kCPU);
    std::vector<double> u(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      u[static_cast<size_t>(i)] = counter_uniform(static_cast<uint64_t>(seeds_cpu[i].item<int64_t>()), static_cast<uint64_t>(s));
    }
    // Inverse CDF: the first index whose cumulative probability exceeds u · total.
    at::Tensor cdf = l.softmax(-1).to(at::kDouble).cumsum(-1);
    at::Tensor target = at::tensor(u, at::kDouble).to(l.device()).unsqueeze(-1) * cdf.narrow(-1, V - 1, 1);
    picked = at::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true).squeeze(-1).clamp_max(V - 1);
  }
  tokens.copy_(picked);
  if (history.defined() && s >= 0 && s < history.size(0)) history[s].copy_(picked);
}

void sample_fused(const at::Tensor& logits, const FusedSampling& p, const at::Tensor& seeds, const at::Tensor& step,
                  at::Tensor& tokens, const at::Tensor& history, const at::Tensor& seen, const at::Tensor& counts,
                  at::Tensor& scratch) {
  if (!fused_sampling_available(logits.device())) {
    sample_fused_torch(logits, p, seeds, step, tokens, history, seen, counts);
    return;
  }
#ifdef JANUSKIT_HAVE_CUDA
  const int64_t n = tokens.numel();
  const int64_t rows_in = p.cfg == CfgRows::none ? n : 2 * n;
  TORCH_CHECK(logits.dim() == 2 && logits.size(0) == rows_in && logits.scalar_type() == at::kFloat &&
                  logits.is_contiguous(),
              "sample_fused: expected contiguous f32 logits [", rows_in, ", V], got ", logits.sizes(), " ",
              logits.scalar_type());
  const int64_t V = logits.size(1);
  TORCH_CHECK(tokens.scalar_type() == at::kLong && tokens.is_contiguous() && seeds.numel() == n &&
                  seeds.scalar_type() == at::kLong && seeds.is_contiguous() && step.numel() == 1 &&
                  step.scalar_type() == at::kLong,
              "sample_fused: tokens/seeds must be [N] int64 and step [1] int64");
  TORCH_CHECK(!history.defined() || (history.dim() == 2 && history.size(1) == n && history.scalar_type() == at::kLong &&
                                     history.is_contiguous()),
              "sample_fused: history must be [steps, N] int64");
  TORCH_CHECK(!seen.defined() || (seen.sizes() == at::IntArrayRef{n, V} && seen.scalar_type() == at::kBool &&
                                  seen.is_contiguous()),
              "sample_fused: seen must be [N, V] bool");
  TORCH_CHECK(!counts.defined() || (counts.sizes() == at::IntArrayRef{n, V} && counts.scalar_type() == at::kFloat &&
                                    counts.is_contiguous()),
              "sample_fused: counts must be [N, V] f32");
  if (!p.greedy && (!scratch.defined() || scratch.numel() < n * V || scratch.device() != logits.device())) {
    scratch = at::empty({n, V}, logits.options());
  }
  kernels::SampleArgs a;
  a.logits = logits.data_ptr<float>();
  a.vocab = V;
  a.rows = n;
  a.cfg = p.cfg == CfgRows::none ? 0 : p.cfg == CfgRows::interleaved ? 1 : 2;
  a.cfg_weight = static_cast<float>(p.cfg_weight);
  a.vocab_limit = p.vocab_limit > 0 && p.vocab_limit < V ? p.vocab_limit : 0;
  if (seen.defined() && p.repetition_penalty != 1.0) {
    a.seen = reinterpret_cast<const uint8_t*>(seen.data_ptr<bool>());
    a.repetition_penalty = static_cast<float>(p.repetition_penalty);
  }
  if (counts.defined() && (p.presence_penalty != 0.0 || p.frequency_penalty != 0.0)) {
    a.counts = counts.data_ptr<float>();
    a.presence_penalty = static_cast<float>(p.presence_penalty);
    a.frequency_penalty = static_cast<float>(p.frequency_penalty);
  }
  a.greedy = p.greedy;
  a.temperature = p.temperature > 0 ? static_cast<float>(p.temperature) : 1.0f;
  a.top_k = p.top_k > 0 && p.top_k < V ? p.top_k : 0;
  a.top_p = p.top_p;
  a.min_p = static_cast<float>(p.min_p);
  a.seeds = seeds.data_ptr<int64_t>();
  a.step = step.data_ptr<int64_t>();
  a.scratch = p.greedy ? nullptr : scratch.data_ptr<float>();
  a.tokens = tokens.data_ptr<int64_t>();
  if (history.defined()) {
    a.history = history.data_ptr<int64_t>();
    a.history_steps = history.size(0);
  }
  kernels::sample(a, current_stream(logits.device()));
#else
  (void)p, (void)seeds, (void)step, (void)tokens, (void)history, (void)seen, (void)counts, (void)scratch;
#endif
}

}  // namespace januskit::nn
