#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "engine/kv_cache.hpp"
#include "nn/attention.hpp"
#include "core/error.hpp"
#include "test_util.hpp"

using namespace januskit;
using namespace januskit::engine;

TEST(CausalWindowMask, LeftAlignedRowsSeeOnlyTheirOwnTokens) {
  // Row 0 starts at slot 0, row 1 at slot 2; 4 new tokens at slots 0..3.
  at::Tensor m = nn::causal_window_mask(at::tensor({0L, 2L}), 0, 4);
  ASSERT_EQ(m.sizes(), (at::IntArrayRef{2, 1, 4, 4}));
  // row 0 is plain causal
  EXPECT_TRUE(at::equal(m[0][0], at::ones({4, 4}, at::kBool).tril()));
  // row 1: slots 0, 1 are padding: a padding query sees only itself, real queries see slots 2..t
  std::vector<std::vector<bool>> expect = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 1, 1}};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(m[1][0][i][j].item<bool>(), expect[i][j]) << i << "," << j;
}

TEST(CausalWindowMask, DecodeStepSeesTheWholeWindow) {
  at::Tensor m = nn::causal_window_mask(at::tensor({1L}), 5, 1);  // slot 5, row starts at 1
  ASSERT_EQ(m.sizes(), (at::IntArrayRef{1, 1, 1, 6}));
  EXPECT_TRUE(at::equal(m.flatten(), at::tensor({0, 1, 1, 1, 1, 1}).to(at::kBool)));
}

TEST(KVCache, PlanWriteAdvanceAndPositions) {
  KVCache cache({2, 2, 4}, 2, 8, at::kFloat, c10::Device(c10::kCPU));
  cache.set_row_starts({0, 1});
  ForwardBatch b = cache.plan(3);
  EXPECT_TRUE(at::equal(b.positions, at::tensor({0L, 1L, 2L, 0L, 0L, 1L}).view({2, 3})));
  at::Tensor k = at::randn({2, 2, 3, 4}), v = at::randn({2, 2, 3, 4});
  cache.write(1, b, k, v);
  cache.advance(b);
  EXPECT_EQ(cache.length(), 3);
  EXPECT_EQ(cache.row_length(1), 2);
  EXPECT_TRUE(at::equal(cache.keys(1).narrow(2, 0, 3), k));
  ForwardBatch next = cache.plan(1);
  EXPECT_EQ(next.first_slot, 3);
  EXPECT_TRUE(at::equal(next.positions, at::tensor({3L, 2L}).view({2, 1})));
  EXPECT_THROW(cache.plan(6), Error);  // 3 + 6 > 8
}

TEST(KVCache, TruncateResetAndShare) {
  KVCache cache({1, 1, 2}, 3, 6, at::kFloat, c10::Device(c10::kCPU));
  ForwardBatch b = cache.plan(4);
  cache.write(0, b, at::randn({3, 1, 4, 2}), at::randn({3, 1, 4, 2}));
  cache.advance(b);
  cache.truncate(2);
  EXPECT_EQ(cache.length(), 2);
  cache.reset_row(1);
  EXPECT_EQ(cache.row_length(1), 0);
  EXPECT_EQ(cache.row_length(0), 2);

  KVCache single({1, 1, 2}, 1, 3, at::kFloat, c10::Device(c10::kCPU));
  ForwardBatch s = single.plan(3);
  at::Tensor k = at::randn({1, 1, 3, 2});
  single.write(0, s, k, k * 2);
  single.advance(s);
  KVCache many({1, 1, 2}, 4, 10, at::kFloat, c10::Device(c10::kCPU));
  many.fill_rows_from(single, 0);
  EXPECT_EQ(many.length(), 3);
  for (int r = 0; r < 4; ++r) {
    EXPECT_TRUE(at::equal(many.keys(0)[r].narrow(1, 0, 3), k[0]));
    EXPECT_TRUE(at::equal(many.values(0)[r].narrow(1, 0, 3), 2 * k[0]));
  }
  EXPECT_THROW(many.fill_rows_from(single, 0), Error);  // only into an empty cache
}

TEST(KVCache, BytesForIsWhatACacheOfThatSizeHolds) {
  const CacheShape shape{3, 2, 8};
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    KVCache cache(shape, 6, 40, dtype, c10::Device(c10::kCPU));
    EXPECT_EQ(KVCache::bytes_for(shape, 6, 40, dtype), cache.bytes());
  }
}
