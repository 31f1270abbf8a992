// The fused sampling kernel against engine::Sampler (the CPU reference) on the same logits: greedy
// picks must be identical; seeded draws too (they differ only at exact ties on a top-p cut or when a
// cumulative probability lands within float rounding of a boundary — with random logits, about one
// draw in a million). Tokens never leave the device inside the kernel; the test reads them back.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <set>

#include "sampling_test_util.hpp"
#include "test_util.hpp"

using namespace januskit;

namespace {
const c10::Device kGpu(c10::kCUDA, 0);
}

TEST(GpuSampling, KernelPicksWhatTheEngineSamplerPicks) {
  JANUSKIT_REQUIRE_CUDA();
  auto g = test::generator();
  const int64_t N = 6;
  for (int64_t V : {16384, 151936}) {  // Janus image tokens, R1-Distill-Qwen's vocabulary
    for (const auto& c : test::sampling_cases()) {
      if (c.vocab_limit >= V) continue;
      for (int64_t step : {0, 5, 300}) {
        engine::Sampler ref(c.options, N, V, c10::Device(c10::kCPU)), dev(c.options, N, V, kGpu);
        test::observe_history({&ref, &dev}, N, V, g);
        at::Tensor logits = test::random_logits(c.cfg ? 2 * N : N, V, g);
        at::Tensor expected = test::reference_picks(ref, c, logits, step);
        at::Tensor tokens = at::full({N}, -1, at::TensorOptions().dtype(at::kLong).device(kGpu));
        at::Tensor history = at::full({400, N}, -1, at::TensorOptions().dtype(at::kLong).device(kGpu));
        dev.sample_on_device(logits.to(kGpu), at::tensor({step}, at::kLong).to(kGpu), tokens, history, c.cfg,
                             c.vocab_limit);
        const std::string what = c.name + ", V " + std::to_string(V) + ", step " + std::to_string(step);
        EXPECT_TRUE(at::equal(tokens.cpu(), expected)) << what << "\n kernel: " << tokens.cpu() << "\n cpu: " << expected;
        EXPECT_TRUE(at::equal(history[step].cpu(), expected)) << what;
        EXPECT_EQ((history != -1).sum().item<int64_t>(), N) << what << ": only row `step` of the history is written";
      }
    }
  }
}

TEST(GpuSampling, TopKKeepsTiesAndDrawsOnlyKeptTokens) {
  JANUSKIT_REQUIRE_CUDA();
  // Four tokens tie at the 3rd-largest value: top-k 3 keeps all four (transformers' rule), so over many
  // seeds every draw lands on the two larger tokens or the four tied ones, never elsewhere.
  const int64_t V = 1000, N = 64;
  at::Tensor logits = at::full({N, V}, -5.0f);
  logits.narrow(1, 10, 1).fill_(3.0f);
  logits.narrow(1, 20, 1).fill_(2.5f);
  for (int64_t t : {30, 40, 50, 60}) logits.narrow(1, t, 1).fill_(2.0f);
  engine::SamplingOptions o;
  o.top_k = 3;
  engine::Sampler dev(o, N, V, kGpu);
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < N; ++i) seeds.push_back(1000 + static_cast<uint64_t>(i));
  dev.set_row_seeds(seeds);
  at::Tensor tokens = at::empty({N}, at::TensorOptions().dtype(at::kLong).device(kGpu));
  std::set<int64_t> drawn;
  for (int64_t step = 0; step < 20; ++step) {
    dev.sample_on_device(logits.to(kGpu), at::tensor({step}, at::kLong).to(kGpu), tokens);
    at::Tensor t = tokens.cpu();
    for (int64_t i = 0; i < N; ++i) drawn.insert(t[i].item<int64_t>());
  }
  EXPECT_EQ(drawn, (std::set<int64_t>{10, 20, 30, 40, 50, 60}));
}
