// The phase lengths of `train-demo`: the defaults must stay the runs shipped as models/demo-janus and
// models/demo-r1 (a full run takes most of an hour, so no test runs one), and the shortcuts (--steps
// for smoke runs, --init, --vision-only, --vq-steps) must shorten the phases they name.
#include <gtest/gtest.h>

#include "training/demo_models.hpp"

namespace januskit::training {
namespace {

TEST(JanusSchedule, DefaultsAreTheShippedRun) {
  const JanusSchedule s = janus_schedule({});
  EXPECT_EQ(s.vq, 2000);
  EXPECT_EQ(s.vision, 1500);
  EXPECT_EQ(s.lm, 12000);
}

TEST(JanusSchedule, StepsShortenEveryPhaseOfASmokeRunAndCapTheTokenizer) {
  DemoOptions smoke;
  smoke.steps = 5;
  const JanusSchedule s = janus_schedule(smoke);
  EXPECT_EQ(s.vq, 5);
  EXPECT_EQ(s.vision, 5);
  EXPECT_EQ(s.lm, 5);

  DemoOptions longer;
  longer.steps = 20000;
  const JanusSchedule l = janus_schedule(longer);
  EXPECT_EQ(l.vq, 2000);  // the tokenizer's default is a cap, not a floor
  EXPECT_EQ(l.vision, 1500);
  EXPECT_EQ(l.lm, 20000);
}

TEST(JanusSchedule, ContinuingKeepsTheTokenizerUnlessVqStepsAsks) {
  DemoOptions o;
  o.init = "some/demo-janus";
  EXPECT_EQ(janus_schedule(o).vq, 0);
  EXPECT_EQ(janus_schedule(o).vision, 1500);
  o.vq_steps = 300;
  EXPECT_EQ(janus_schedule(o).vq, 300);
}

TEST(JanusSchedule, VisionOnlySkipsTheVisionPretraining) {
  DemoOptions o;
  o.init = "some/demo-janus";
  o.vision_only = true;
  o.steps = 4000;
  const JanusSchedule s = janus_schedule(o);
  EXPECT_EQ(s.vq, 0);
  EXPECT_EQ(s.vision, 0);
  EXPECT_EQ(s.lm, 4000);
}

TEST(ReasonerSteps, DefaultIsTheShippedRunAndStepsOverrideIt) {
  EXPECT_EQ(reasoner_steps({}), 2000);
  DemoOptions smoke;
  smoke.steps = 5;
  EXPECT_EQ(reasoner_steps(smoke), 5);
}

}  // namespace
}  // namespace januskit::training
