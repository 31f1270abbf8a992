// Which tensors JanusModel hands to training.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <set>

#include "models/janus.hpp"

using namespace januskit;

namespace {
models::JanusConfig tiny_understanding_config() {
  models::JanusConfig c;
  auto& t = c.text;
  t.architecture = "LlamaForCausalLM";
  t.vocab_size = 64;
  t.hidden_size = 32;
  t.intermediate_size = 64;
  t.num_layers = 1;
  t.num_heads = 2;
  t.num_kv_heads = 2;
  t.head_dim = 16;
  t.max_positions = 64;
  t.rope.rotary_dim = 16;
  c.vision.image_size = 16;
  c.vision.patch_size = 4;
  c.vision.width = 16;
  c.vision.layers = 2;
  c.vision.heads = 2;
  c.vision.mlp_dim = 32;
  c.vq.grid = c.vision.grid();
  return c;
}
}  // namespace

// Every understanding parameter is a tensor the gradient of encode_images() reaches (state_dict()'s
// split q/k/v views of SigLIP's fused projection would not be), and each is one of parameters().
TEST(JanusParameters, UnderstandingParametersAllReceiveGradients) {
  auto m = models::JanusModel::random(tiny_understanding_config(), at::kFloat, c10::Device(c10::kCPU), 3,
                                      {.understanding = true, .generation = false, .vq_encoder = false});
  std::vector<at::Tensor> params = m->understanding_parameters();
  std::set<const void*> all;
  for (const auto& p : m->parameters()) all.insert(p.unsafeGetTensorImpl());
  // SigLIP: patch conv (2) + position + 2 blocks x (2 norms x 2, qkv 2, proj 2, fc1 2, fc2 2) + final norm (2);
  // aligner: 2 linear layers (4).
  EXPECT_EQ(params.size(), 2u + 1u + 2u * 12u + 2u + 4u);
  for (auto& p : params) {
    EXPECT_TRUE(all.count(p.unsafeGetTensorImpl()));
    p.requires_grad_(true);
  }
  m->encode_images(at::randn({2, 3, 16, 16})).pow(2).sum().backward();
  for (const auto& p : params) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0.0);
  }
}
