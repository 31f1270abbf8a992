// The generation loop on a small random Llama: batching, shared prompts, sessions, stopping.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "engine/text_generator.hpp"
#include "models/llama.hpp"
#include "pipelines/ask.hpp"
#include "core/error.hpp"
#include "test_util.hpp"

using namespace januskit;
using namespace januskit::engine;

namespace {

std::unique_ptr<models::LlamaModel> tiny_model(bool qwen2 = false) {
  models::LlamaConfig c;
  c.architecture = qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  c.vocab_size = 97;
  c.hidden_size = 48;
  c.intermediate_size = 96;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 12;
  c.max_positions = 256;
  c.qkv_bias = qwen2;
  c.rope.rotary_dim = 12;
  // Wide weights: decisions far from argmax ties (see TESTING.md).
  return models::LlamaModel::random(c, at::kFloat, c10::Device(c10::kCPU), 42, 0.2);
}

GenerationOptions greedy(int64_t n) {
  GenerationOptions o;
  o.max_new_tokens = n;
  o.sampling.temperature = 0;
  return o;
}

}  // namespace

TEST(TextGenerator, BatchOfDifferentLengthsEqualsEachAlone) {
  auto model = tiny_model(true);
  TextGenerator gen(*model);
  std::vector<std::vector<int32_t>> prompts = {{5}, {1, 2, 3, 4, 5, 6, 7}, {9, 8, 7}};
  GenerationResult batch = gen.generate(prompts, greedy(20));
  ASSERT_EQ(batch.rows.size(), 3u);
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationResult alone = gen.generate({prompts[i]}, greedy(20));
    EXPECT_EQ(batch.rows[i].tokens, alone.rows[0].tokens) << "row " << i;
    EXPECT_EQ(batch.rows[i].reason, StopReason::max_tokens);
  }
  EXPECT_EQ(batch.stats.prompt_tokens, 11);
  EXPECT_EQ(batch.stats.generated_tokens, 60);
}

TEST(TextGenerator, IncrementalDecodeMatchesFullForward) {
  auto model = tiny_model();
  std::vector<int64_t> ids = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38};
  const int64_t n = static_cast<int64_t>(ids.size());
  KVCache full = model->make_cache(1, n);
  ForwardBatch b = full.plan(n);
  at::Tensor all = model->lm_logits(model->forward(model->embed_tokens(at::tensor(ids).view({1, n})), b, full));
  full.advance(b);
  KVCache step = model->make_cache(1, n);
  for (int64_t t = 0; t < n; ++t) {
    ForwardBatch one = step.plan(1);
    at::Tensor l = model->lm_logits(model->forward(model->embed_tokens(at::tensor({ids[t]}).view({1, 1})), one, step));
    step.advance(one);
    EXPECT_LT(test::rel_error(l[0][0], all[0][t]), 1e-5) << "position " << t;
  }
}

TEST(TextGenerator, SharedPromptSamplesMatchSeparateRows) {
  auto model = tiny_model();
  TextGenerator gen(*model);
  GenerationOptions o;
  o.max_new_tokens = 16;
  o.sampling.temperature = 0.9;
  o.sampling.seed = 11;
  std::vector<int32_t> p = {4, 8, 15, 16, 23, 42};
  GenerationResult shared = gen.generate({p, p, p}, o);  // one prefill, rows filled from it
  for (int64_t i = 0; i < 3; ++i) {
    GenerationOptions one = o;
    one.sampling.seed = o.sampling.seed + static_cast<uint64_t>(i);
    EXPECT_EQ(shared.rows[i].tokens, gen.generate({p}, one).rows[0].tokens) << "sample " << i;
  }
  EXPECT_NE(shared.rows[0].tokens, shared.rows[1].tokens);
  EXPECT_EQ(shared.stats.prompt_tokens, 6);
}

TEST(TextGenerator, StopsOnEosAndKeepsIt) {
  auto model = tiny_model();
  TextGenerator gen(*model);
  GenerationResult free_run = gen.generate({{1, 2, 3}}, greedy(12));
  int32_t third = free_run.rows[0].tokens[2];
  GenerationOptions o = greedy(12);
  o.eos_ids = {third};
  GenerationResult stopped = gen.generate({{1, 2, 3}}, o);
  auto first = std::find(free_run.rows[0].tokens.begin(), free_run.rows[0].tokens.end(), third);
  std::vector<int32_t> expect(free_run.rows[0].tokens.begin(), first + 1);
  EXPECT_EQ(stopped.rows[0].tokens, expect);
  EXPECT_EQ(stopped.rows[0].reason, StopReason::eos);
}

TEST(TextGenerator, SessionContinuesTheCache) {
  auto model = tiny_model();
  TextGenerator gen(*model);
  KVCache cache = model->make_cache(1, 128);
  std::vector<int32_t> cached;
  std::vector<int32_t> turn1 = {1, 2, 3, 4};
  GenerationResult r1 = gen.continue_session(cache, cached, turn1, greedy(8));
  EXPECT_EQ(r1.rows[0].tokens, gen.generate({turn1}, greedy(8)).rows[0].tokens);
  // Turn 2 extends turn 1 and its answer: only the new tokens are prefilled.
  std::vector<int32_t> turn2 = turn1;
  turn2.insert(turn2.end(), r1.rows[0].tokens.begin(), r1.rows[0].tokens.end());
  turn2.insert(turn2.end(), {50, 51});
  GenerationResult r2 = gen.continue_session(cache, cached, turn2, greedy(8));
  EXPECT_EQ(r2.stats.prompt_tokens, 3);  // the last answer token (never fed) + 50, 51
  EXPECT_EQ(r2.rows[0].tokens, gen.generate({turn2}, greedy(8)).rows[0].tokens);
  // A diverging history recomputes from the divergence.
  std::vector<int32_t> other = {1, 2, 77, 78};
  GenerationResult r3 = gen.continue_session(cache, cached, other, greedy(8));
  EXPECT_EQ(r3.stats.prompt_tokens, 2);
  EXPECT_EQ(r3.rows[0].tokens, gen.generate({other}, greedy(8)).rows[0].tokens);
}

TEST(TextGenerator, OverLongPromptIsAClearError) {
  auto model = tiny_model();
  TextGenerator gen(*model);
  std::vector<int32_t> huge(300, 1);
  try {
    gen.generate({huge}, greedy(4));
    FAIL() << "accepted a prompt longer than the context";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("300 tokens"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("256"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gen.generate({{1, 500}}, greedy(4)), Error);  // id outside the vocabulary
}

TEST(ThinkBudget, ForcesCloseTagThenNewlineAfterBudget) {
  auto model = tiny_model();
  TextGenerator gen(*model);
  const int32_t close = 90, newline = 91;
  pipelines::ThinkBudget budget(5, close, {newline}, 1);
  GenerationOptions o = greedy(12);
  GenerationResult r = gen.generate({{1, 2, 3}}, o, {}, &budget);
  const auto& t = r.rows[0].tokens;
  ASSERT_EQ(t.size(), 12u);
  // Five free reasoning tokens (unless the model closed on its own), then </think> and the newline.
  auto pos = std::find(t.begin(), t.end(), close) - t.begin();
  EXPECT_LE(pos, 5);
  if (pos == 5) {
    EXPECT_EQ(t[6], newline);
  }
}

TEST(Vote, MajorityWithFirstSeenTieBreak) {
  auto [w, n] = pipelines::vote({std::string("4"), std::nullopt, std::string("5"), std::string("4")});
  EXPECT_EQ(w, "4");
  EXPECT_EQ(n, 2);
  auto [t, m] = pipelines::vote({std::string("7"), std::string("8")});
  EXPECT_EQ(t, "7");
  EXPECT_EQ(m, 1);
  EXPECT_FALSE(pipelines::vote({std::nullopt}).first.has_value());
}
