// Reasoning split (</think>) and final-answer extraction (\boxed{…}, last number).
#include <gtest/gtest.h>

#include "text/reasoning.hpp"

using namespace januskit::text;

namespace {

TEST(SplitReasoning, OutputStartsInsideTheReasoning) {
  auto s = split_reasoning("Let me add them.\n1+1=2.\n</think>\n\nThe answer is 2.");
  EXPECT_EQ(s.reasoning, "Let me add them.\n1+1=2.");
  EXPECT_EQ(s.content, "The answer is 2.");
  EXPECT_TRUE(s.finished_reasoning);
}

TEST(SplitReasoning, NoCloseTagMeansUnfinishedReasoning) {
  // Also what a --think-budget cut produces: reasoning that stops mid-sentence.
  auto s = split_reasoning("\nFirst, note that the sum of 1..n is n(n+1)/2, so for n = 100 we");
  EXPECT_EQ(s.reasoning, "First, note that the sum of 1..n is n(n+1)/2, so for n = 100 we");
  EXPECT_EQ(s.content, "");
  EXPECT_FALSE(s.finished_reasoning);
  auto empty = split_reasoning("");
  EXPECT_EQ(empty.reasoning, "");
  EXPECT_FALSE(empty.finished_reasoning);
}

TEST(SplitReasoning, ExtraLeadingThinkIsTolerated) {
  auto s = split_reasoning("<think>\nabc\n</think>\n\nx");
  EXPECT_EQ(s.reasoning, "abc");
  EXPECT_EQ(s.content, "x");
  auto spaced = split_reasoning(" \n<think>abc</think>x");
  EXPECT_EQ(spaced.reasoning, "abc");
  EXPECT_EQ(spaced.content, "x");
  // Only at the start: a <think> inside the reasoning is text.
  EXPECT_EQ(split_reasoning("a <think> b</think>c").reasoning, "a <think> b");
}

TEST(SplitReasoning, SplitsOnTheFirstCloseTagAndKeepsTheRestVerbatim) {
  auto s = split_reasoning("r</think>\n\nanswer</think> more \n");
  EXPECT_EQ(s.reasoning, "r");
  EXPECT_EQ(s.content, "answer</think> more \n");
  auto immediate = split_reasoning("</think>answer");
  EXPECT_EQ(immediate.reasoning, "");
  EXPECT_EQ(immediate.content, "answer");
  EXPECT_TRUE(immediate.finished_reasoning);
  // Empty thinking (the bypass R1's README warns about).
  auto bypass = split_reasoning("\n\n</think>\n\nHi");
  EXPECT_EQ(bypass.reasoning, "");
  EXPECT_EQ(bypass.content, "Hi");
}

TEST(ExtractBoxed, NestedBracesAndSeveralBoxes) {
  EXPECT_EQ(extract_boxed("so \\boxed{5050}."), "5050");
  EXPECT_EQ(extract_boxed("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  EXPECT_EQ(extract_boxed("\\boxed{\\left\\{x \\mid x^{2} > {1}\\right\\}}"), "\\left\\{x \\mid x^{2} > {1}\\right\\}");
  EXPECT_EQ(extract_boxed("first \\boxed{1}, then \\boxed{2}"), "2");
  EXPECT_EQ(extract_boxed("\\boxed{}"), "");
  EXPECT_EQ(extract_boxed("\\boxed{\\{1, 2\\}}"), "\\{1, 2\\}");  // escaped braces do not nest
}

TEST(ExtractBoxed, UnterminatedLastBoxFallsBackToTheLastCompleteOne) {
  EXPECT_EQ(extract_boxed("\\boxed{3} and finally \\boxed{4"), "3");
  EXPECT_EQ(extract_boxed("\\boxed{4"), std::nullopt);
  EXPECT_EQ(extract_boxed("no box here {1}"), std::nullopt);
  EXPECT_EQ(extract_boxed("\\boxed 5"), std::nullopt);
}

TEST(FinalAnswer, BoxedElseLastNumber) {
  EXPECT_EQ(final_answer("The sum is \\boxed{ 5050 }."), "5050");
  EXPECT_EQ(final_answer("Between 3 and 5050."), "5050");
  EXPECT_EQ(final_answer("Total: 1,234.5 dollars"), "1234.5");
  EXPECT_EQ(final_answer("Total: 1,234,567"), "1234567");
  EXPECT_EQ(final_answer("it is -3"), "-3");
  EXPECT_EQ(final_answer("pages 3-5"), "5");
  EXPECT_EQ(final_answer("values 12,34"), "34");  // not a thousands group
  EXPECT_EQ(final_answer("It ends with 42."), "42");
  EXPECT_EQ(final_answer("no numbers"), std::nullopt);
  EXPECT_EQ(final_answer(""), std::nullopt);
}

}  // namespace
