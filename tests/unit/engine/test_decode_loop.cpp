// The device decode loop (engine/decode_graph.hpp) against the eager loop, both on the CPU: the loop
// itself — counters kept in device memory, sampling into a history buffer read back in chunks, rows
// padded to a batch bucket, stop rules, hooks, sessions, reuse of the bucket's state — must produce
// exactly what the eager loop produces. (On the CPU the device loop runs the kernels' LibTorch twins;
// tests/gpu/test_decode_path.cpp runs it on CUDA with the kernels and the CUDA graph.)
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/error.hpp"
#include "decode_test_util.hpp"
#include "engine/image_generator.hpp"
#include "engine/text_generator.hpp"
#include "pipelines/ask.hpp"
#include "test_util.hpp"

using namespace januskit;
using namespace januskit::engine;

namespace {


GenerationOptions with_loop(GenerationOptions o, DecodeLoop loop) {
  o.decode_loop = loop;
  return o;
}

void expect_same(const GenerationResult& device, const GenerationResult& eager, const std::string& what) {
  ASSERT_EQ(device.rows.size(), eager.rows.size()) << what;
  for (size_t r = 0; r < eager.rows.size(); ++r) {
    EXPECT_EQ(device.rows[r].tokens, eager.rows[r].tokens) << what << ", row " << r;
    EXPECT_EQ(device.rows[r].reason, eager.rows[r].reason) << what << ", row " << r;
    EXPECT_EQ(device.rows[r].text, eager.rows[r].text) << what << ", row " << r;
  }
  EXPECT_EQ(device.stats.prompt_tokens, eager.stats.prompt_tokens) << what;
  EXPECT_EQ(device.stats.generated_tokens, eager.stats.generated_tokens) << what;
  EXPECT_EQ(device.stats.steps, eager.stats.steps) << what;
}

GenerationOptions greedy(int64_t n) {
  GenerationOptions o;
  o.max_new_tokens = n;
  o.sampling.temperature = 0;
  return o;
}

GenerationOptions sampled(int64_t n, uint64_t seed) {
  GenerationOptions o;
  o.max_new_tokens = n;
  o.sampling.temperature = 0.9;
  o.sampling.top_k = 30;
  o.sampling.top_p = 0.9;
  o.sampling.seed = seed;
  return o;
}

}  // namespace

TEST(DeviceLoop, TextMatchesEagerLoop) {
  auto model = test::random_llama({});
  TextGenerator device(*model), eager(*model);
  // Three rows of different lengths: padded to the bucket of 4, left-aligned.
  const std::vector<std::vector<int32_t>> prompts = {{5}, {1, 2, 3, 4, 5, 6, 7}, {9, 8, 7}};
  for (const auto& [name, options] : std::vector<std::pair<std::string, GenerationOptions>>{
           {"greedy", greedy(21)}, {"sampled", sampled(19, 11)}, {"sampled, other seed", sampled(19, 12)}}) {
    GenerationResult d = device.generate(prompts, with_loop(options, DecodeLoop::device));
    GenerationResult e = eager.generate(prompts, with_loop(options, DecodeLoop::eager));
    expect_same(d, e, name);
  }
  // A batch of another bucket after those (the bucket's state is rebuilt), then one alone.
  expect_same(device.generate({{3, 1}}, with_loop(sampled(9, 5), DecodeLoop::device)),
              eager.generate({{3, 1}}, with_loop(sampled(9, 5), DecodeLoop::eager)), "alone");
}

TEST(DeviceLoop, PenaltiesMinPVocabLimitAndSharedPrompt) {
  test::LlamaShape shape;
  shape.qwen2 = true;
  auto model = test::random_llama(shape);
  TextGenerator device(*model), eager(*model);
  GenerationOptions o = sampled(17, 3);
  o.sampling.min_p = 0.05;
  o.sampling.repetition_penalty = 1.3;
  o.sampling.presence_penalty = 0.2;
  o.sampling.frequency_penalty = 0.1;
  o.vocab_limit = 80;
  const std::vector<std::vector<int32_t>> shared = {{4, 5, 6}, {4, 5, 6}, {4, 5, 6}};
  expect_same(device.generate(shared, with_loop(o, DecodeLoop::device)),
              eager.generate(shared, with_loop(o, DecodeLoop::eager)), "shared prompt");
  GenerationResult d = device.generate({{1, 2}, {3}}, with_loop(o, DecodeLoop::device));
  expect_same(d, eager.generate({{1, 2}, {3}}, with_loop(o, DecodeLoop::eager)), "two prompts");
  for (const auto& row : d.rows) {
    for (int32_t t : row.tokens) EXPECT_LT(t, 80);
  }
}

TEST(DeviceLoop, Qwen3QkNormAndSeparateHeadDim) {
  test::LlamaShape shape;
  shape.qwen3 = true;
  shape.head_dim = 32;  // q/k/v rows 4 * 32 while hidden_size stays heads * head_dim below
  auto model = test::random_llama(shape);
  // Norm weights away from 1, so that a missing or misplaced q/k norm changes the tokens.
  for (auto& L : model->weights().layers) {
    L.q_norm.uniform_(0.5, 1.5);
    L.k_norm.uniform_(0.5, 1.5);
  }
  TextGenerator device(*model), eager(*model);
  const std::vector<std::vector<int32_t>> prompts = {{5, 6}, {1, 2, 3, 4, 5, 6, 7}};
  expect_same(device.generate(prompts, with_loop(sampled(15, 4), DecodeLoop::device)),
              eager.generate(prompts, with_loop(sampled(15, 4), DecodeLoop::eager)), "qwen3");
}

TEST(DeviceLoop, StopsOnEosBudgetAndFullContext) {
  test::LlamaShape shape;
  shape.max_positions = 24;
  auto model = test::random_llama(shape);
  TextGenerator device(*model), eager(*model);
  GenerationResult free_run = eager.generate({{1, 2, 3}, {7}}, greedy(12));
  GenerationOptions o = greedy(12);
  o.eos_ids = {free_run.rows[0].tokens[2], free_run.rows[1].tokens[9]};
  expect_same(device.generate({{1, 2, 3}, {7}}, with_loop(o, DecodeLoop::device)),
              eager.generate({{1, 2, 3}, {7}}, with_loop(o, DecodeLoop::eager)), "eos");
  // The context (24) ends before the budget (40): context_full after 24 - 5 + 1 samples.
  GenerationResult full = device.generate({{1, 2, 3, 4, 5}}, with_loop(greedy(40), DecodeLoop::device));
  expect_same(full, eager.generate({{1, 2, 3, 4, 5}}, with_loop(greedy(40), DecodeLoop::eager)), "context");
  EXPECT_EQ(full.rows[0].reason, StopReason::context_full);
  expect_same(device.generate({{1}}, with_loop(greedy(0), DecodeLoop::device)),
              eager.generate({{1}}, with_loop(greedy(0), DecodeLoop::eager)), "no budget");
}

TEST(DeviceLoop, HookOverridesReachTheNextStep) {
  auto model = test::random_llama({});
  TextGenerator device(*model), eager(*model);
  const int32_t close = 90, newline = 91;
  pipelines::ThinkBudget budget_d(5, close, {newline}, 1), budget_e(5, close, {newline}, 1);
  GenerationResult d = device.generate({{1, 2, 3}}, with_loop(sampled(14, 8), DecodeLoop::device), {}, &budget_d);
  GenerationResult e = eager.generate({{1, 2, 3}}, with_loop(sampled(14, 8), DecodeLoop::eager), {}, &budget_e);
  expect_same(d, e, "think budget");
  EXPECT_NE(std::find(d.rows[0].tokens.begin(), d.rows[0].tokens.end(), close), d.rows[0].tokens.end());
}

TEST(DeviceLoop, TokensStreamInOrder) {
  auto model = test::random_llama({});
  TextGenerator device(*model);
  std::vector<std::pair<int64_t, int32_t>> seen;
  GenerationResult r = device.generate({{1, 2}, {3, 4, 5}}, with_loop(greedy(11), DecodeLoop::device),
                                       [&](const TokenEvent& e) { seen.emplace_back(e.row, e.token); });
  ASSERT_EQ(seen.size(), 22u);
  size_t i = 0;
  for (int64_t k = 0; k < 11; ++k) {
    for (int64_t row = 0; row < 2; ++row, ++i) {
      EXPECT_EQ(seen[i].first, row);
      EXPECT_EQ(seen[i].second, r.rows[row].tokens[k]);
    }
  }
}

TEST(DeviceLoop, SessionTurnsMatchEagerLoop) {
  auto model = test::random_llama({});
  TextGenerator device(*model), eager(*model);
  KVCache cache_d = model->make_cache(1, 96), cache_e = model->make_cache(1, 96);
  std::vector<int32_t> cached_d, cached_e;
  std::vector<int32_t> turn = {1, 2, 3, 4};
  for (int t = 0; t < 3; ++t) {
    GenerationResult d = device.continue_session(cache_d, cached_d, turn, with_loop(sampled(9, t), DecodeLoop::device));
    GenerationResult e = eager.continue_session(cache_e, cached_e, turn, with_loop(sampled(9, t), DecodeLoop::eager));
    expect_same(d, e, "turn " + std::to_string(t));
    EXPECT_EQ(cached_d, cached_e);
    EXPECT_EQ(cache_d.length(), cache_e.length());
    turn.insert(turn.end(), d.rows[0].tokens.begin(), d.rows[0].tokens.end());
    turn.insert(turn.end(), {50, 51});
  }
}

TEST(DeviceLoop, ImagesMatchEagerLoop) {
  auto model = test::random_janus();
  ImageGenerator device(*model), eager(*model);
  // Three images (bucket 4) of two prompt lengths.
  std::vector<ImageRequest> images = {test::image_request({1, 2, 3, 4, 9}, {1, 0, 0, 0, 9}, 10),
                                      test::image_request({1, 5, 9}, {1, 0, 9}, 11),
                                      test::image_request({1, 2, 3, 4, 9}, {1, 0, 0, 0, 9}, 12)};
  for (double temperature : {0.0, 1.0}) {
    ImageGenerationOptions o;
    o.temperature = temperature;
    o.top_k = temperature > 0 ? 20 : 0;
    ImageGenerationOptions od = o, oe = o;
    od.decode_loop = DecodeLoop::device;
    oe.decode_loop = DecodeLoop::eager;
    std::vector<int64_t> progress;
    ImageGenerationResult d = device.generate(images, od, [&](int64_t done, int64_t) { progress.push_back(done); });
    ImageGenerationResult e = eager.generate(images, oe);
    EXPECT_TRUE(at::equal(d.tokens, e.tokens)) << "temperature " << temperature;
    EXPECT_EQ(d.steps, e.steps);
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back(), 36);
  }
}
