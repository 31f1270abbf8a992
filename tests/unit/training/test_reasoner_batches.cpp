// Length-grouped training batches of the demo reasoner.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "text/tokenizer.hpp"
#include "training/demo_models.hpp"
#include "training/reasoner_batches.hpp"

using namespace januskit;
using namespace januskit::training;

namespace {

constexpr const char* kBos = "<｜begin▁of▁sentence｜>";
constexpr const char* kEos = "<｜end▁of▁sentence｜>";

const text::Tokenizer& demo_tok() {
  static const text::Tokenizer tok = text::Tokenizer::from_json_text(demo_tokenizer().dump(), "demo tokenizer");
  return tok;
}

std::vector<std::vector<ReasonerExample>> draw(uint64_t seed, int batch, int pool, int count) {
  const auto& tok = demo_tok();
  ReasonerBatches batches(tok, kBos, tok.require_token_id(kEos), seed, batch, pool);
  std::vector<std::vector<ReasonerExample>> out;
  for (int i = 0; i < count; ++i) out.push_back(batches.next());
  return out;
}

// Fraction of a padded batch that is padding.
double padding(const std::vector<ReasonerExample>& b) {
  size_t longest = 0, used = 0;
  for (const auto& e : b) longest = std::max(longest, e.length()), used += e.length();
  return 1.0 - static_cast<double>(used) / static_cast<double>(longest * b.size());
}

}  // namespace

TEST(ReasonerBatches, ExamplesAreR1PromptsWithAnswersEndingInEos) {
  const auto& tok = demo_tok();
  const auto batches = draw(1, 6, 4, 4);
  for (const auto& e : batches[0]) {
    EXPECT_NE(tok.decode(e.prompt, false).find("<think>"), std::string::npos);
    EXPECT_EQ(e.answer.back(), tok.require_token_id(kEos));
    EXPECT_NE(tok.decode(e.answer, false).find("\\boxed{"), std::string::npos);
  }
}

TEST(ReasonerBatches, EachPoolIsCutIntoBatchesOfSeparateLengthRanges) {
  const int batch = 8, pool = 5;
  auto batches = draw(2, batch, pool, 2 * pool);
  for (int p = 0; p < 2; ++p) {
    std::vector<std::pair<size_t, size_t>> ranges;  // (shortest, longest) per batch of this pool
    for (int b = 0; b < pool; ++b) {
      const auto& rows = batches[static_cast<size_t>(p * pool + b)];
      ASSERT_EQ(rows.size(), static_cast<size_t>(batch));
      auto [lo, hi] = std::minmax_element(rows.begin(), rows.end(),
                                          [](const auto& x, const auto& y) { return x.length() < y.length(); });
      ranges.push_back({lo->length(), hi->length()});
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LE(ranges[i - 1].second, ranges[i].first);
  }
}

TEST(ReasonerBatches, GroupedBatchesCarryLessPaddingThanRandomOnes) {
  auto grouped = draw(3, 24, 8, 32);
  std::vector<ReasonerExample> all;
  double grouped_padding = 0;
  for (const auto& b : grouped) {
    grouped_padding += padding(b) / grouped.size();
    all.insert(all.end(), b.begin(), b.end());
  }
  std::mt19937_64 rng(4);
  std::shuffle(all.begin(), all.end(), rng);
  double random_padding = 0;
  for (size_t i = 0; i < all.size(); i += 24) {
    random_padding += padding({all.begin() + static_cast<long>(i), all.begin() + static_cast<long>(i + 24)}) / grouped.size();
  }
  EXPECT_LT(grouped_padding, 0.5 * random_padding) << grouped_padding << " vs " << random_padding;
}

TEST(ReasonerBatches, SameSeedSameBatches) {
  auto a = draw(5, 4, 3, 6), b = draw(5, 4, 3, 6);
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < a[i].size(); ++j) {
      EXPECT_EQ(a[i][j].prompt, b[i][j].prompt);
      EXPECT_EQ(a[i][j].answer, b[i][j].answer);
    }
  }
}
