#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "core/counter_rng.hpp"
#include "core/error.hpp"
#include "engine/sampler.hpp"
#include "test_util.hpp"

using namespace januskit;
using namespace januskit::engine;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();

at::Tensor logits_of(std::vector<double> probs) {
  return at::log(at::tensor(probs, at::kDouble)).to(at::kFloat).unsqueeze(0);
}
std::vector<bool> kept(const at::Tensor& logits) {
  std::vector<bool> out;
  for (int64_t i = 0; i < logits.size(-1); ++i) out.push_back(std::isfinite(logits[0][i].item<float>()));
  return out;
}
}  // namespace

TEST(SamplerStages, TopKKeepsTheKLargestAndTies) {
  at::Tensor l = logits_of({0.1, 0.4, 0.2, 0.2, 0.1});
  apply_top_k(l, 2);
  // 0.4 and both 0.2 (tied with the 2nd largest) stay, as in transformers.
  EXPECT_EQ(kept(l), (std::vector<bool>{false, true, true, true, false}));
  at::Tensor all = logits_of({0.5, 0.5});
  apply_top_k(all, 0);
  EXPECT_EQ(kept(all), (std::vector<bool>{true, true}));
}

TEST(SamplerStages, TopPKeepsTheSmallestSetReachingP) {
  // sorted: 0.5, 0.3, 0.15, 0.05. p = 0.8 -> 0.5 + 0.3 reaches 0.8: keep two.
  at::Tensor l = logits_of({0.05, 0.3, 0.5, 0.15});
  apply_top_p(l, 0.8);
  EXPECT_EQ(kept(l), (std::vector<bool>{false, true, true, false}));
  // p = 0.81 needs the third.
  at::Tensor m = logits_of({0.05, 0.3, 0.5, 0.15});
  apply_top_p(m, 0.81);
  EXPECT_EQ(kept(m), (std::vector<bool>{false, true, true, true}));
  // A tiny p keeps at least the top token.
  at::Tensor t = logits_of({0.05, 0.3, 0.5, 0.15});
  apply_top_p(t, 1e-6);
  EXPECT_EQ(kept(t), (std::vector<bool>{false, false, true, false}));
}

TEST(SamplerStages, MinPDropsTokensBelowAFractionOfTheTop) {
  at::Tensor l = logits_of({0.5, 0.3, 0.15, 0.05});
  apply_min_p(l, 0.35);  // threshold 0.175
  EXPECT_EQ(kept(l), (std::vector<bool>{true, true, false, false}));
}

TEST(SamplerStages, TemperatureScalesLogits) {
  at::Tensor l = at::tensor({2.0f, -4.0f}).unsqueeze(0);
  apply_temperature(l, 0.5);
  EXPECT_FLOAT_EQ(l[0][0].item<float>(), 4.0f);
  EXPECT_FLOAT_EQ(l[0][1].item<float>(), -8.0f);
}

TEST(SamplerStages, DrawFollowsTheCumulativeDistribution) {
  at::Tensor probs = at::tensor({0.1, 0.0, 0.6, 0.3}, at::kDouble).unsqueeze(0).repeat({5, 1});
  at::Tensor u = at::tensor({0.0, 0.0999, 0.1001, 0.6999, 0.9999}, at::kDouble);
  at::Tensor idx = draw_from(probs, u);
  std::vector<int64_t> got(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + 5);
  EXPECT_EQ(got, (std::vector<int64_t>{0, 0, 2, 2, 3}));  // the zero-probability token 1 is never drawn
}

TEST(SamplerStages, CfgMixBothLayouts) {
  // rows: cond0, uncond0, cond1, uncond1
  at::Tensor inter = at::tensor({1.0f, 2.0f, 0.0f, 1.0f, 3.0f, 3.0f, 1.0f, 1.0f}).view({4, 2});
  at::Tensor mixed = cfg_mix(inter, 5.0, CfgLayout::interleaved);
  // uncond + 5 (cond - uncond): row0 = (0,1) + 5 (1,1) = (5,6); row1 = (1,1) + 5 (2,2) = (11,11)
  EXPECT_TRUE(at::equal(mixed, at::tensor({5.0f, 6.0f, 11.0f, 11.0f}).view({2, 2})));
  at::Tensor blocks = at::cat({inter.index({at::indexing::Slice(0, 4, 2)}), inter.index({at::indexing::Slice(1, 4, 2)})});
  EXPECT_TRUE(at::equal(cfg_mix(blocks, 5.0, CfgLayout::blocks), mixed));
}

TEST(Sampler, GreedyIsArgmaxAfterPenalties) {
  SamplingOptions o;
  o.temperature = 0;
  o.repetition_penalty = 2.0;
  Sampler s(o, 1, 3, c10::Device(c10::kCPU));
  at::Tensor l = at::tensor({3.0f, 2.0f, -1.0f}).unsqueeze(0);
  EXPECT_EQ(s.sample(l, 0).item<int64_t>(), 0);
  s.observe_prompt(0, {0});
  // 3 / 2 = 1.5 < 2: token 1 wins now.
  EXPECT_EQ(s.sample(l, 0).item<int64_t>(), 1);
}

TEST(Sampler, PresenceAndFrequencyPenalties) {
  SamplingOptions o;
  o.temperature = 0;
  o.presence_penalty = 0.5;
  o.frequency_penalty = 0.25;
  Sampler s(o, 1, 3, c10::Device(c10::kCPU));
  at::Tensor l = at::tensor({3.0f, 2.0f, 1.6f}).unsqueeze(0);
  s.observe(at::tensor({0L}));
  s.observe(at::tensor({0L}));
  // token 0: 3 - 2*0.25 - 0.5 = 2.0; token 1 stays 2.0: argmax takes the first of the tie.
  EXPECT_EQ(s.sample(l, 0).item<int64_t>(), 0);
  s.observe(at::tensor({0L}));
  EXPECT_EQ(s.sample(l, 0).item<int64_t>(), 1);  // 3 - 0.75 - 0.5 = 1.75 < 2
}

TEST(Sampler, SeededDrawsAreReproducibleAndPerRow) {
  SamplingOptions o;
  o.temperature = 1.0;
  o.seed = 99;
  auto g = test::generator();
  at::Tensor l = at::randn({1, 50}, g).repeat({3, 1});
  std::vector<int64_t> a, b, c;
  Sampler s1(o, 3, 50, c10::Device(c10::kCPU)), s2(o, 3, 50, c10::Device(c10::kCPU));
  for (int step = 0; step < 20; ++step) {
    at::Tensor t1 = s1.sample(l, step), t2 = s2.sample(l, step);
    EXPECT_TRUE(at::equal(t1, t2));
    a.push_back(t1[0].item<int64_t>());
    b.push_back(t1[1].item<int64_t>());
  }
  EXPECT_NE(a, b);  // rows draw with seed + row
  // Row 1 of a batch draws what a lone row with seed 100 draws.
  SamplingOptions o1 = o;
  o1.seed = 100;
  Sampler alone(o1, 1, 50, c10::Device(c10::kCPU));
  for (int step = 0; step < 20; ++step) c.push_back(alone.sample(l.narrow(0, 0, 1), step).item<int64_t>());
  EXPECT_EQ(b, c);
}

TEST(Sampler, SampledFrequenciesMatchTheDistribution) {
  // 20000 draws from (0.5, 0.3, 0.2) after top-k 3 of a 5-token vector with two tiny tokens.
  SamplingOptions o;
  o.top_k = 3;
  o.seed = 5;
  Sampler s(o, 1, 5, c10::Device(c10::kCPU));
  at::Tensor l = logits_of({0.5, 0.001, 0.3, 0.2, 0.001});
  std::vector<int> counts(5, 0);
  for (int step = 0; step < 20000; ++step) counts[s.sample(l, step).item<int64_t>()]++;
  EXPECT_EQ(counts[1] + counts[4], 0);
  double total = 0.5 + 0.3 + 0.2;
  EXPECT_NEAR(counts[0] / 20000.0, 0.5 / total, 0.015);
  EXPECT_NEAR(counts[2] / 20000.0, 0.3 / total, 0.015);
  EXPECT_NEAR(counts[3] / 20000.0, 0.2 / total, 0.015);
}

TEST(Sampler, RejectsBadSettings) {
  SamplingOptions o;
  o.top_p = 0;
  EXPECT_THROW(Sampler(o, 1, 4, c10::Device(c10::kCPU)), UsageError);
  o = {};
  o.temperature = -1;
  EXPECT_THROW(Sampler(o, 1, 4, c10::Device(c10::kCPU)), UsageError);
}

TEST(CounterRng, UniformAndDecorrelated) {
  double sum = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    double u = counter_uniform(7, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.005);
  EXPECT_NE(counter_uniform(1, 2), counter_uniform(2, 1));
  EXPECT_EQ(counter_uniform(3, 4), counter_uniform(3, 4));
}
