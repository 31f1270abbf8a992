// Sampling configurations and the reference picks of engine::Sampler (with engine::cfg_mix), shared
// by the CPU test of the fused sampler's LibTorch twin and the GPU test of its kernel.
#pragma once

#include <ATen/ATen.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampler.hpp"
#include "nn/sampling.hpp"

namespace januskit::test {

struct SamplingCase {
  std::string name;
  engine::SamplingOptions options;
  std::optional<std::pair<double, engine::CfgLayout>> cfg;
  int64_t vocab_limit = 0;
};

inline std::vector<SamplingCase> sampling_cases() {
  std::vector<SamplingCase> cases;
  auto add = [&](std::string name, auto edit) {
    SamplingCase c;
    c.name = std::move(name);
    c.options.seed = 1234;
    edit(c);
    cases.push_back(c);
  };
  add("greedy", [](SamplingCase& c) { c.options.temperature = 0; });
  add("greedy+penalties+limit", [](SamplingCase& c) {
    c.options.temperature = 0;
    c.options.repetition_penalty = 1.3;
    c.options.presence_penalty = 0.4;
    c.options.frequency_penalty = 0.25;
    c.vocab_limit = 900;
  });
  add("full distribution", [](SamplingCase&) {});
  add("temperature 0.6 top-p 0.95 (R1)", [](SamplingCase& c) {
    c.options.temperature = 0.6;
    c.options.top_p = 0.95;
  });
  add("top-k 40", [](SamplingCase& c) { c.options.top_k = 40; });
  add("top-k 1", [](SamplingCase& c) { c.options.top_k = 1; });
  add("top-k 50 top-p 0.8 min-p 0.05 T 1.3", [](SamplingCase& c) {
    c.options.top_k = 50;
    c.options.top_p = 0.8;
    c.options.min_p = 0.05;
    c.options.temperature = 1.3;
  });
  add("top-p 0.5 penalties limit", [](SamplingCase& c) {
    c.options.top_p = 0.5;
    c.options.repetition_penalty = 1.2;
    c.options.frequency_penalty = 0.3;
    c.vocab_limit = 700;
  });
  add("CFG interleaved (Janus)", [](SamplingCase& c) { c.cfg = std::make_pair(5.0, engine::CfgLayout::interleaved); });
  add("CFG blocks greedy", [](SamplingCase& c) {
    c.cfg = std::make_pair(3.5, engine::CfgLayout::blocks);
    c.options.temperature = 0;
  });
  add("CFG interleaved T 0.8 top-k 100", [](SamplingCase& c) {
    c.cfg = std::make_pair(5.0, engine::CfgLayout::interleaved);
    c.options.temperature = 0.8;
    c.options.top_k = 100;
  });
  return cases;
}

// Random logits [rows, V] with a spread like a language model's.
inline at::Tensor random_logits(int64_t rows, int64_t vocab, at::Generator& g) {
  return at::randn({rows, vocab}, g) * 3.0;
}

// Feeds both samplers the same prompts and earlier outputs, so that every penalty has something to
// act on: each row's prompt is 30 random ids, and three steps of random tokens were "generated".
inline void observe_history(std::vector<engine::Sampler*> samplers, int64_t rows, int64_t vocab, at::Generator& g) {
  for (int64_t r = 0; r < rows; ++r) {
    at::Tensor ids = at::randint(0, vocab, {30}, g, at::kLong);
    std::vector<int32_t> prompt(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + 30);
    for (auto* s : samplers) s->observe_prompt(r, prompt);
  }
  for (int k = 0; k < 3; ++k) {
    at::Tensor out = at::randint(0, vocab, {rows}, g, at::kLong);
    for (auto* s : samplers) s->observe(out.to(s->device()));
  }
}

// engine::Sampler's picks (the reference): cfg_mix, the vocabulary limit, then sample().
inline at::Tensor reference_picks(engine::Sampler& sampler, const SamplingCase& c, const at::Tensor& logits, int64_t step) {
  at::Tensor in = c.cfg ? engine::cfg_mix(logits, c.cfg->first, c.cfg->second) : logits.clone();
  const int64_t V = in.size(-1);
  if (c.vocab_limit > 0) in.narrow(-1, c.vocab_limit, V - c.vocab_limit).fill_(-std::numeric_limits<float>::infinity());
  return sampler.sample(in, step);
}

}  // namespace januskit::test
