#include <gtest/gtest.h>

#include "core/progress.hpp"
#include "core/timer.hpp"

using namespace januskit;

namespace {
ProgressState state(int64_t done, int64_t total, double elapsed) {
  ProgressState s;
  s.label = "generate";
  s.unit = "tok";
  s.done = done;
  s.total = total;
  s.elapsed_s = elapsed;
  return s;
}
}  // namespace

TEST(FormatDuration, MinutesSecondsAndHours) {
  EXPECT_EQ(format_duration(0), "00:00");
  EXPECT_EQ(format_duration(7.4), "00:07");
  EXPECT_EQ(format_duration(754), "12:34");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "--:--");
}

TEST(FormatRate, PerSecondOrSecondsPerUnit) {
  EXPECT_EQ(format_rate(20.614, "tok"), "20.61 tok/s");
  EXPECT_EQ(format_rate(0.4, "img"), "2.50 s/img");
  EXPECT_EQ(format_rate(0, "it"), "? it/s");
}

TEST(FormatProgress, BarCountersEtaAndRate) {
  // 288 of 576 in 10 s: 28.8 tok/s, 10 s left.
  std::string line = format_progress(state(288, 576, 10.0), 100);
  EXPECT_EQ(line.rfind("generate  50% |", 0), 0u) << line;
  EXPECT_NE(line.find("| 288/576 [00:10<00:10, 28.80 tok/s]"), std::string::npos) << line;
  // Half of a 40-cell bar is 20 full blocks.
  std::string full;
  for (int i = 0; i < 20; ++i) full += "█";
  EXPECT_NE(line.find("|" + full + std::string(20, ' ') + "|"), std::string::npos) << line;
}

TEST(FormatProgress, CompleteAndPostfix) {
  ProgressState s = state(576, 576, 12.0);
  s.postfix = "cfg 5";
  std::string line = format_progress(s, 120);
  EXPECT_NE(line.find("100% |"), std::string::npos) << line;
  EXPECT_NE(line.find("576/576 [00:12<00:00, 48.00 tok/s] cfg 5"), std::string::npos) << line;
}

TEST(FormatProgress, NarrowTerminalDropsTheBar) {
  std::string line = format_progress(state(1, 4, 1.0), 30);
  EXPECT_EQ(line.find('|'), std::string::npos) << line;
  EXPECT_NE(line.find("1/4"), std::string::npos) << line;
}

TEST(FormatProgress, UnknownTotalHasNoBarOrEta) {
  std::string line = format_progress(state(42, 0, 2.0), 100);
  EXPECT_EQ(line, "generate 42 tok [00:02, 21.00 tok/s]");
}

TEST(FormatProgress, PartialUnitsMoveBarRateAndEtaButNotTheCounter) {
  // 2 whole images and half of the third in 5 s: 0.5 img/s, 5.5 images left -> 11 s.
  ProgressState s = state(2, 8, 5.0);
  s.unit = "img";
  s.partial = 0.5;
  std::string line = format_progress(s, 100);
  EXPECT_EQ(line.rfind("generate  31% |", 0), 0u) << line;
  EXPECT_NE(line.find("| 2/8 [00:05<00:11, 2.00 s/img]"), std::string::npos) << line;
}

TEST(ProgressBar, SilentModeWritesNothing) {
  testing::internal::CaptureStderr();
  {
    ProgressBar bar(10, "x", "it", ProgressMode::silent);
    bar.advance(5);
    bar.finish();
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(ProgressBar, LineModePrintsFirstAndFinalLines) {
  testing::internal::CaptureStderr();
  {
    ProgressBar bar(4, "steps", "it", ProgressMode::lines);
    for (int i = 0; i < 4; ++i) bar.advance();
    bar.finish();
    bar.finish();  // idempotent
  }
  std::string out = testing::internal::GetCapturedStderr();
  // The first update draws at once; the rest fall inside the 5 s interval; finish draws the end.
  EXPECT_NE(out.find("1/4"), std::string::npos) << out;
  EXPECT_NE(out.find("4/4"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
}
