// The decode building blocks' LibTorch twins (what the CUDA kernels are tested against) and the
// models' decode_step(), on the CPU: each must compute what the prefill/forward path computes.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "decode_test_util.hpp"
#include "engine/kv_cache.hpp"
#include "nn/attention.hpp"
#include "nn/rms_norm.hpp"
#include "nn/rope.hpp"
#include "test_util.hpp"

using namespace januskit;

TEST(DecodeBlocks, AddRmsNormAddsInPlaceThenNorms) {
  auto g = test::generator();
  at::Tensor x = at::randn({3, 40}, g), r = at::randn({3, 40}, g), w = 1 + 0.1 * at::randn({40}, g);
  at::Tensor x0 = x.clone();
  at::Tensor out = at::full({3, 40}, std::numeric_limits<float>::quiet_NaN());
  nn::add_rms_norm_(x, r, w, 1e-6, out);
  EXPECT_TRUE(at::equal(x, x0 + r));
  EXPECT_LT(test::rel_error(out, nn::rms_norm_torch(x0 + r, w, 1e-6)), 1e-6);
  // Without a residual: a plain norm, x untouched.
  at::Tensor y = at::empty_like(out), before = x0.clone();
  nn::add_rms_norm_(x0, {}, w, 1e-6, y);
  EXPECT_TRUE(at::equal(x0, before));
  EXPECT_LT(test::rel_error(y, nn::rms_norm_torch(x0, w, 1e-6)), 1e-6);
}

TEST(DecodeBlocks, RopeInPlaceMatchesTheCopyingRotation) {
  auto g = test::generator();
  for (bool interleaved : {false, true}) {
    nn::RopeConfig c;
    c.rotary_dim = 16;
    c.interleaved = interleaved;
    nn::RotaryEmbedding rope(c, c10::Device(c10::kCPU));
    at::Tensor qkv = at::randn({2, 5, (4 + 2 * 2) * 16}, g);  // B = 2, T = 5, H = 4, KVH = 2
    at::Tensor positions = at::randint(0, 300, {2, 5}, g, at::kLong);
    at::Tensor q = qkv.narrow(-1, 0, 64).view({2, 5, 4, 16}), k = qkv.narrow(-1, 64, 32).view({2, 5, 2, 16});
    auto [cos, sin] = rope.cos_sin(positions);
    at::Tensor q_ref = rope.apply(q.transpose(1, 2), cos, sin), k_ref = rope.apply(k.transpose(1, 2), cos, sin);
    nn::apply_rope_(q, k, positions, rope);
    EXPECT_TRUE(at::equal(q.transpose(1, 2), q_ref)) << "interleaved " << interleaved;
    EXPECT_TRUE(at::equal(k.transpose(1, 2), k_ref)) << "interleaved " << interleaved;
  }
}

TEST(DecodeBlocks, RopeCacheWriteRotatesAndStoresAtTheSlot) {
  auto g = test::generator();
  nn::RopeConfig c;
  c.rotary_dim = 16;
  nn::RotaryEmbedding rope(c, c10::Device(c10::kCPU));
  at::Tensor qkv = at::randn({3, (4 + 2 * 2) * 16}, g);
  at::Tensor q = qkv.narrow(1, 0, 64).view({3, 4, 16});
  at::Tensor k = qkv.narrow(1, 64, 32).view({3, 2, 16}), v = qkv.narrow(1, 96, 32).view({3, 2, 16});
  at::Tensor positions = at::tensor({7, 0, 12}, at::kLong), slot = at::tensor({9}, at::kLong);
  at::Tensor kc = at::randn({3, 2, 20, 16}, g), vc = at::randn({3, 2, 20, 16}, g);
  at::Tensor kc0 = kc.clone(), vc0 = vc.clone(), q0 = q.clone();
  auto [cos, sin] = rope.cos_sin(positions.view({3, 1}));
  nn::rope_cache_write(q, k, v, positions, rope, kc, vc, slot);
  EXPECT_TRUE(at::equal(q, rope.apply(q0.unsqueeze(2), cos, sin).squeeze(2)));
  EXPECT_TRUE(at::equal(kc.select(2, 9), rope.apply(k.unsqueeze(2), cos, sin).squeeze(2)));
  EXPECT_TRUE(at::equal(vc.select(2, 9), v));
  // Every other slot is untouched.
  kc.select(2, 9).copy_(kc0.select(2, 9));
  vc.select(2, 9).copy_(vc0.select(2, 9));
  EXPECT_TRUE(at::equal(kc, kc0));
  EXPECT_TRUE(at::equal(vc, vc0));
}

TEST(DecodeBlocks, DecodeAttentionSeesExactlyTheRowsWindow) {
  auto g = test::generator();
  const int64_t B = 3, H = 6, KVH = 2, d = 16, cap = 40;
  at::Tensor q = at::randn({B, H, d}, g), kc = at::randn({B, KVH, cap, d}, g), vc = at::randn({B, KVH, cap, d}, g);
  at::Tensor row_start = at::tensor({0, 5, 17}, at::kLong), slot = at::tensor({17}, at::kLong);
  at::Tensor workspace;
  at::Tensor out = nn::decode_attention(q, kc, vc, row_start, slot, 0.25, workspace);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t s0 = row_start[b].item<int64_t>();
    at::Tensor k = kc[b].narrow(1, s0, 18 - s0), v = vc[b].narrow(1, s0, 18 - s0);   // [KVH, n, d]
    at::Tensor kk = k.repeat_interleave(H / KVH, 0), vv = v.repeat_interleave(H / KVH, 0);
    at::Tensor p = (at::matmul(q[b].unsqueeze(1), kk.transpose(1, 2)) * 0.25).softmax(-1);  // [H, 1, n]
    at::Tensor expected = at::matmul(p, vv).squeeze(1);
    EXPECT_LT(test::rel_error(out[b], expected), 1e-5) << "row " << b;
  }
}

namespace {

// Prefills rows of different lengths with forward(), then checks decode_step() for the next tokens
// against forward() on a copy of the cache.
void expect_decode_step_matches_forward(const test::LlamaShape& shape) {
  auto model = test::random_llama(shape);
  const int64_t B = 3, longest = 7;
  engine::KVCache cache = model->make_cache(B, 16);
  cache.set_row_starts({0, 3, 6});
  at::Tensor ids = at::randint(0, shape.vocab, {B, longest}, test::generator(), at::kLong);
  engine::ForwardBatch prefill = cache.plan(longest);
  model->forward(model->embed_tokens(ids), prefill, cache);
  cache.advance(prefill);
  engine::KVCache twin = model->make_cache(B, 16);
  twin.set_row_starts({0, 3, 6});
  for (int64_t l = 0; l < shape.layers; ++l) {
    twin.keys(l).copy_(cache.keys(l));
    twin.values(l).copy_(cache.values(l));
  }
  twin.mark_written(cache.length());
  for (int64_t step = 0; step < 3; ++step) {
    at::Tensor next = at::randint(0, shape.vocab, {B, 1}, test::generator(), at::kLong);
    engine::ForwardBatch one = cache.plan(1);
    at::Tensor expected = model->forward(model->embed_tokens(next), one, cache).select(1, 0);
    cache.advance(one);
    engine::DecodeInputs in;
    in.slot = at::tensor({twin.length()}, at::kLong);
    in.positions = one.positions.view({B}).clone();
    at::Tensor got = model->decode_step(model->embed_tokens(next), in, twin);
    twin.mark_written(1);
    EXPECT_LT(test::rel_error(got, expected), 1e-5) << "step " << step;
    for (int64_t l = 0; l < shape.layers; ++l) {
      EXPECT_LT(test::rel_error(twin.keys(l), cache.keys(l)), 1e-6) << "layer " << l;
      EXPECT_LT(test::rel_error(twin.values(l), cache.values(l)), 1e-6) << "layer " << l;
    }
  }
}

}  // namespace

TEST(DecodeStep, MatchesForwardLlamaGqa) { expect_decode_step_matches_forward({}); }

TEST(DecodeStep, MatchesForwardQwen2BiasAndLlama3Rope) {
  test::LlamaShape s;
  s.qwen2 = true;
  s.llama3 = true;
  s.heads = 6;
  s.kv_heads = 1;
  expect_decode_step_matches_forward(s);
}

// One query per row on the CPU takes nn::attention's grouped f32 path: the same numbers as LibTorch's
// fused kernel on a cache window (a non-contiguous narrow), with GQA groups and left-padded rows.
TEST(DecodeBlocks, CpuOneQueryAttentionEqualsTheFusedKernel) {
  auto g = test::generator();
  const int64_t B = 3, H = 12, KVH = 2, d = 64, capacity = 80, S = 57;
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    const at::Tensor q = at::randn({B, H, 1, d}, g).to(dtype);
    const at::Tensor k = at::randn({B, KVH, capacity, d}, g).to(dtype).narrow(2, 0, S);
    const at::Tensor v = at::randn({B, KVH, capacity, d}, g).to(dtype).narrow(2, 0, S);
    const at::Tensor starts = at::tensor(std::vector<int64_t>{0, 9, 30});
    const at::Tensor mask = nn::causal_window_mask(starts, S - 1, 1);  // [B, 1, 1, S]
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    const at::Tensor ours = nn::attention(q, k, v, mask, scale);
    const at::Tensor ref = at::scaled_dot_product_attention(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), mask,
                                                            0.0, false, scale, /*enable_gqa=*/true);
    ASSERT_EQ(ours.sizes(), ref.sizes());
    ASSERT_EQ(ours.scalar_type(), dtype);
    EXPECT_LT(test::rel_error(ours.to(at::kFloat), ref), dtype == at::kFloat ? 1e-6 : 5e-3);
  }
}
