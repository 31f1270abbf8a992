#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "core/radix_sort.hpp"

using namespace januskit;

namespace {

// The radix sort must give what at::sort(stable=true) gives: the same values and the same permutation.
void expect_same_as_aten_stable_sort(const at::Tensor& x) {
  RadixSortScratch scratch;
  const int64_t n = x.numel();
  at::Tensor values = at::empty({n}, at::kFloat), order = at::empty({n}, at::kLong);
  radix_argsort_ascending(x.data_ptr<float>(), n, values.data_ptr<float>(), order.data_ptr<int64_t>(), scratch);
  auto [ref_values, ref_order] = x.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
  ASSERT_TRUE(at::equal(order, ref_order)) << "first difference at "
                                          << (order != ref_order).nonzero().flatten()[0].item<int64_t>();
  // Bit patterns, so that -0 / +0 and NaN payloads are compared too.
  EXPECT_TRUE(at::equal(values.view(at::kInt), ref_values.view(at::kInt)));
}

}  // namespace

TEST(RadixSort, MatchesStableSortOnVocabularySizedLogits) {
  at::manual_seed(3);
  expect_same_as_aten_stable_sort(at::randn({151936}) * 4);
  expect_same_as_aten_stable_sort(at::randn({1001}) * 1e-30);  // tiny magnitudes, subnormals
}

TEST(RadixSort, TiesKeepIndexOrderAndSignedZerosTie) {
  at::manual_seed(4);
  // Few distinct values: long runs of ties.
  expect_same_as_aten_stable_sort(at::randint(-3, 4, {5000}).to(at::kFloat) * 0.5);
  const float inf = std::numeric_limits<float>::infinity();
  expect_same_as_aten_stable_sort(at::tensor({0.0f, -0.0f, 1.0f, -0.0f, 0.0f, -inf, inf, -1.0f, -inf}));
}

TEST(RadixSort, NansGoLastInIndexOrder) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  expect_same_as_aten_stable_sort(at::tensor({nan, 2.0f, -nan, inf, -inf, nan, 0.5f}));
}

TEST(RadixSort, EdgeSizes) {
  expect_same_as_aten_stable_sort(at::tensor({1.5f}));
  expect_same_as_aten_stable_sort(at::full({300}, 7.0f));  // every digit shared: passes skipped
  RadixSortScratch scratch;
  radix_argsort_ascending(nullptr, 0, nullptr, nullptr, scratch);  // nothing to do, nothing touched
}
