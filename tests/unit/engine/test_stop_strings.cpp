#include <gtest/gtest.h>

#include "engine/stop_strings.hpp"
#include "text/reasoning_stream.hpp"

using namespace januskit;

TEST(StopStrings, HoldsBackPossibleStartsAndCutsAtTheStop) {
  engine::StopStringFilter f({"</answer>", "STOP"});
  EXPECT_EQ(f.push("The result is 4"), "The result is 4");
  EXPECT_EQ(f.push(" </ans"), " ");        // "</ans" may begin "</answer>"
  EXPECT_EQ(f.push("wer> and more"), "");  // it did: nothing after it is released
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(f.text(), "The result is 4 ");
  EXPECT_EQ(f.push("x"), "");
}

TEST(StopStrings, FalseAlarmIsReleasedAndFlushGivesTheRest) {
  engine::StopStringFilter f({"STOP"});
  EXPECT_EQ(f.push("ST"), "");
  EXPECT_EQ(f.push("ART"), "START");
  EXPECT_EQ(f.push("S"), "");
  EXPECT_EQ(f.flush(), "S");
  EXPECT_FALSE(f.stopped());
  EXPECT_EQ(f.text(), "STARTS");
}

TEST(StopStrings, NoStopsPassesEverything) {
  engine::StopStringFilter f({});
  EXPECT_EQ(f.push("abc"), "abc");
}

namespace {
std::pair<std::string, std::string> stream_all(const std::vector<std::string>& pieces, bool in_reasoning = true) {
  text::ReasoningStream s(in_reasoning);
  std::string r, a;
  for (const auto& p : pieces) {
    auto out = s.push(p);
    r += out.reasoning;
    a += out.answer;
  }
  auto out = s.finish();
  return {r + out.reasoning, a + out.answer};
}
}  // namespace

TEST(ReasoningStream, SplitsOnCloseTagAcrossPieces) {
  auto [r, a] = stream_all({"Let me think.", " 2+2=4.\n</th", "ink>\n\nThe answer is ", "\\boxed{4}."});
  EXPECT_EQ(r, "Let me think. 2+2=4.");  // the line break before </think> is trimmed, as split_reasoning does
  EXPECT_EQ(a, "The answer is \\boxed{4}.");
}

TEST(ReasoningStream, ExtraLeadingOpenTagIsDropped) {
  auto [r, a] = stream_all({"<thi", "nk>\nHmm.", "</think>", "Yes."});
  EXPECT_EQ(r, "Hmm.");  // line breaks that open the reasoning are trimmed, as split_reasoning does
  EXPECT_EQ(a, "Yes.");
}

TEST(ReasoningStream, NoCloseTagMeansAllReasoning) {
  auto [r, a] = stream_all({"still thinking ", "</thi"});
  EXPECT_EQ(r, "still thinking </thi");
  EXPECT_EQ(a, "");
}

TEST(ReasoningStream, RawModeIsAllAnswer) {
  auto [r, a] = stream_all({"plain text"}, false);
  EXPECT_EQ(r, "");
  EXPECT_EQ(a, "plain text");
}

TEST(ReasoningStream, TextNeverArrivesTwice) {
  text::ReasoningStream s;
  auto first = s.push("<");  // may be the start of "<think>": held back
  EXPECT_EQ(first.reasoning, "");
  auto second = s.push("b>");
  EXPECT_EQ(second.reasoning, "<b>");
}
