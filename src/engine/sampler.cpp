#include "engine/sampler.hpp"

#include <ATen/ATen.h>

#include <limits>

#include "core/counter_rng.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/radix_sort.hpp"
#include "nn/sampling.hpp"

namespace januskit::engine {
namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// at::sort(stable=true, ascending) along the last dimension; CPU f32 rows go through the radix sort,
// which gives the same values and order in linear time.
std::tuple<at::Tensor, at::Tensor> sort_ascending_stable(const at::Tensor& logits) {
  if (!logits.device().is_cpu() || logits.scalar_type() != at::kFloat || logits.numel() == 0) {
    return logits.sort(/*stable=*/true, /*dim=*/-1, /*descending=*/false);
  }
  const int64_t V = logits.size(-1);
  const at::Tensor x = logits.reshape({-1, V}).contiguous();
  at::Tensor values = at::empty_like(x), order = at::empty(x.sizes(), x.options().dtype(at::kLong));
  const float* in = x.data_ptr<float>();
  float* v = values.data_ptr<float>();
  int64_t* o = order.data_ptr<int64_t>();
  at::parallel_for(0, x.size(0), 1, [&](int64_t r0, int64_t r1) {
    thread_local RadixSortScratch scratch;
    for (int64_t r = r0; r < r1; ++r) radix_argsort_ascending(in + r * V, V, v + r * V, o + r * V, scratch);
  });
  return {values.view(logits.sizes()), order.view(logits.sizes())};
}
}  // namespace

at::Tensor cfg_mix(const at::Tensor& logits, double weight, CfgLayout layout) {
  TORCH_CHECK(logits.size(0) % 2 == 0, "cfg_mix: needs (cond, uncond) row pairs, got ", logits.size(0), " rows");
  at::Tensor cond, uncond;
  if (layout == CfgLayout::interleaved) {
    at::Tensor pairs = logits.unflatten(0, {-1, 2});
    cond = pairs.select(1, 0);
    uncond = pairs.select(1, 1);
  } else {
    const int64_t b = logits.size(0) / 2;
    cond = logits.narrow(0, 0, b);
    uncond = logits.narrow(0, b, b);
  }
  return uncond + weight * (cond - uncond);
}

at::Tensor cfg_mix_two_conditions(const at::Tensor& logits, double weight, double partial_weight) {
  TORCH_CHECK(logits.size(0) % 3 == 0, "cfg_mix_two_conditions: needs (full, partial, uncond) row triples, got ",
              logits.size(0), " rows");
  at::Tensor triples = logits.unflatten(0, {-1, 3});
  at::Tensor full = triples.select(1, 0), partial = triples.select(1, 1), uncond = triples.select(1, 2);
  at::Tensor cond = (full + partial_weight * partial) / (1.0 + partial_weight);
  return uncond + weight * (cond - uncond);
}

void apply_temperature(at::Tensor& logits, double temperature) {
  if (temperature > 0 && temperature != 1.0) logits.div_(temperature);
}

void apply_top_k(at::Tensor& logits, int64_t k) {
  if (k <= 0 || k >= logits.size(-1)) return;
  // transformers keeps every token tied with the k-th value.
  at::Tensor kth = std::get<0>(logits.topk(k, -1)).narrow(-1, k - 1, 1);
  logits.masked_fill_(logits < kth, kNegInf);
}

void apply_top_p(at::Tensor& logits, double p) {
  if (p >= 1.0) return;
  // As transformers: sort ascending, drop the low tail whose cumulative probability is <= 1 - p,
  // always keeping the most likely token. The sort is stable, so tied tokens at the boundary are
  // dropped lowest index first (transformers' unstable torch.sort leaves that to the algorithm).
  auto [sorted, order] = sort_ascending_stable(logits);
  at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
  at::Tensor remove_sorted = cumulative <= (1.0 - p);
  remove_sorted.narrow(-1, logits.size(-1) - 1, 1).fill_(false);
  at::Tensor remove = at::empty_like(remove_sorted).scatter_(-1, order, remove_sorted);
  logits.masked_fill_(remove, kNegInf);
}

void apply_min_p(at::Tensor& logits, double min_p) {
  if (min_p <= 0.0) return;
  at::Tensor probs = logits.softmax(-1);
  at::Tensor top = std::get<0>(probs.max(-1, /*keepdim=*/true));
  logits.masked_fill_(probs < top * min_p, kNegInf);
}

at::Tensor draw_from(const at::Tensor& probs, const at::Tensor& uniforms) {
  at::Tensor cdf = probs.to(at::kDouble).cumsum(-1);
  // Scale u by the total so rounding in the sum can never leave u above the last bin.
  at::Tensor target = uniforms.to(at::kDouble).unsqueeze(-1) * cdf.narrow(-1, cdf.size(-1) - 1, 1);
  at::Tensor index = at::searchsorted(cdf, target, /*out_int32=*/false, /*right=*/true);
  return index.squeeze(-1).clamp_max(probs.size(-1) - 1);
}

Sampler::Sampler(const SamplingOptions& options, int64_t batch, int64_t vocab, c10::Device device)
    : options_(options), batch_(batch), vocab_(vocab), device_(device) {
  if (options.temperature < 0) throw UsageError("--temperature must be >= 0 (0 = greedy)");
  if (options.top_p <= 0 || options.top_p > 1) throw UsageError("--top-p must be in (0, 1]");
  if (options.min_p < 0 || options.min_p > 1) throw UsageError("--min-p must be in [0, 1]");
  if (options.top_k < 0) throw UsageError("--top-k must be >= 0 (0 = off)");
  if (options.repetition_penalty <= 0) throw UsageError("--repeat-penalty must be > 0 (1 = off)");
  // Only the stages that change something join the chain.
  const SamplingOptions o = options;
  if (o.temperature > 0 && o.temperature != 1.0) stages_.push_back([o](at::Tensor& l) { apply_temperature(l, o.temperature); });
  if (o.top_k > 0) stages_.push_back([o](at::Tensor& l) { apply_top_k(l, o.top_k); });
  if (o.top_p < 1.0) stages_.push_back([o](at::Tensor& l) { apply_top_p(l, o.top_p); });
  if (o.min_p > 0.0) stages_.push_back([o](at::Tensor& l) { apply_min_p(l, o.min_p); });
  for (int64_t i = 0; i < batch; ++i) row_seeds_.push_back(options.seed + static_cast<uint64_t>(i));
  auto on = at::TensorOptions().device(device);
  if (options.repetition_penalty != 1.0) seen_ = at::zeros({batch, vocab}, on.dtype(at::kBool));
  if (options.presence_penalty != 0.0 || options.frequency_penalty != 0.0) {
    counts_ = at::zeros({batch, vocab}, on.dtype(at::kFloat));
  }
}

void Sampler::set_row_seeds(const std::vector<uint64_t>& seeds) {
  if (static_cast<int64_t>(seeds.size()) != batch_) {
    throw Error(cat("sampler: ", seeds.size(), " row seeds for ", batch_, " rows"));
  }
  row_seeds_ = seeds;
  if (device_seeds_.defined()) {
    device_seeds_.copy_(at::tensor(std::vector<int64_t>(seeds.begin(), seeds.end()), at::kLong));
  }
}

void Sampler::reset() {
  if (seen_.defined()) seen_.zero_();
  if (counts_.defined()) counts_.zero_();
}

void Sampler::sample_on_device(const at::Tensor& logits, const at::Tensor& step, at::Tensor& tokens,
                               const at::Tensor& history, std::optional<std::pair<double, CfgLayout>> cfg,
                               int64_t vocab_limit) {
  if (!device_seeds_.defined()) {
    // uint64 seeds travel as their int64 bit patterns.
    device_seeds_ = at::tensor(std::vector<int64_t>(row_seeds_.begin(), row_seeds_.end()), at::kLong).to(logits.device());
  }
  nn::FusedSampling p;
  if (cfg) {
    p.cfg = cfg->second == CfgLayout::interleaved ? nn::CfgRows::interleaved : nn::CfgRows::blocks;
    p.cfg_weight = cfg->first;
  }
  p.vocab_limit = vocab_limit;
  p.repetition_penalty = options_.repetition_penalty;
  p.presence_penalty = options_.presence_penalty;
  p.frequency_penalty = options_.frequency_penalty;
  p.greedy = options_.greedy();
  p.temperature = options_.temperature;
  p.top_k = options_.top_k;
  p.top_p = options_.top_p;
  p.min_p = options_.min_p;
  nn::sample_fused(logits, p, device_seeds_, step, tokens, history, seen_, counts_, scratch_);
}

void Sampler::observe_prompt(int64_t row, const std::vector<int32_t>& ids) {
  if (!seen_.defined() || ids.empty()) return;
  at::Tensor idx = at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong).to(seen_.device());
  seen_[row].index_fill_(0, idx.clamp(0, vocab_ - 1), true);
}

void Sampler::observe(const at::Tensor& tokens) {
  at::Tensor idx = tokens.to(at::kLong).view({-1, 1});
  if (seen_.defined()) seen_.scatter_(1, idx, true);
  if (counts_.defined()) counts_.scatter_add_(1, idx, at::ones_like(idx, counts_.options()));
}

void Sampler::apply_penalties(at::Tensor& logits) const {
  if (seen_.defined()) {
    // transformers' rule: divide positive logits by the penalty, multiply negative ones.
    const double p = options_.repetition_penalty;
    at::Tensor penalised = at::where(logits > 0, logits / p, logits * p);
    logits = at::where(seen_, penalised, logits);
  }
  if (counts_.defined()) {
    logits -= counts_ * options_.frequency_penalty + (counts_ > 0).to(at::kFloat) * options_.presence_penalty;
  }
}

at::Tensor Sampler::sample(const at::Tensor& input, int64_t step) {
  TORCH_CHECK(input.dim() == 2 && input.size(0) == batch_, "sampler: expected [", batch_, ", V] logits, got ",
              input.sizes());
  at::Tensor logits = input.to(at::kFloat).clone();
  apply_penalties(logits);
  if (options_.greedy()) return logits.argmax(-1);
  for (const auto& stage : stages_) stage(logits);
  std::vector<double> u(static_cast<size_t>(batch_));
  for (int64_t i = 0; i < batch_; ++i) u[i] = counter_uniform(row_seeds_[i], static_cast<uint64_t>(step));
  at::Tensor uniforms = at::tensor(u, at::kDouble).to(logits.device());
  return draw_from(logits.softmax(-1), uniforms);
}

}  // namespace januskit::engine
