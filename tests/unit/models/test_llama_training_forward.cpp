// The forward pass autograd records (training) against the inference one, which the reference tests
// compare with transformers: explicit-matmul attention with an additive mask, the split projections,
// rope's roll, and attending to this call's own k/v must give the same hidden states.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "models/llama.hpp"

using namespace januskit;

namespace {

std::unique_ptr<models::LlamaModel> tiny_model() {
  models::LlamaConfig c;
  c.architecture = "Qwen2ForCausalLM";
  c.vocab_size = 61;
  c.hidden_size = 48;
  c.intermediate_size = 96;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;  // grouped-query attention
  c.head_dim = 12;
  c.max_positions = 64;
  c.qkv_bias = true;
  c.rope.rotary_dim = 12;
  return models::LlamaModel::random(c, at::kFloat, c10::Device(c10::kCPU), 7, 0.2);
}

at::Tensor forward(models::LlamaModel& m, const at::Tensor& embeds, const std::vector<int64_t>& row_starts) {
  engine::KVCache cache = m.make_cache(embeds.size(0), embeds.size(1));
  cache.set_row_starts(row_starts);
  engine::ForwardBatch batch = cache.plan(embeds.size(1));
  return m.forward(embeds, batch, cache);
}

}  // namespace

TEST(LlamaTrainingForward, MatchesTheInferenceForwardAndBackpropagates) {
  auto m = tiny_model();
  at::manual_seed(3);
  const at::Tensor embeds = at::randn({2, 9, 48});
  const std::vector<int64_t> starts = {0, 3};  // the second row left-padded by three slots
  at::Tensor expected;
  {
    c10::NoGradGuard no_grad;
    expected = forward(*m, embeds, starts);
  }
  for (auto& p : m->parameters()) p.requires_grad_(true);
  at::Tensor got = forward(*m, embeds, starts);
  ASSERT_TRUE(got.requires_grad());
  // Positions from each row's start on: slots before it are padding either way.
  EXPECT_TRUE(at::allclose(got.detach()[0], expected[0], 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(got.detach()[1].narrow(0, 3, 6), expected[1].narrow(0, 3, 6), 1e-5, 1e-5));
  got.narrow(1, 3, 6).pow(2).mean().backward();
  // Every weight on the path gets a finite gradient: all but the embedding and the output head.
  size_t with_grad = 0;
  for (const auto& p : m->parameters()) {
    if (!p.grad().defined()) continue;
    ++with_grad;
    EXPECT_TRUE(p.grad().isfinite().all().item<bool>());
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0);
  }
  EXPECT_EQ(with_grad, m->parameters().size() - 2);
  for (auto& p : m->parameters()) p.requires_grad_(false);
}
