// Llama/Qwen2/Qwen3 decoders against transformers on tiny random models (tests/reference/make_text_models.py).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/json_util.hpp"
#include "engine/text_generator.hpp"
#include "io/checkpoint.hpp"
#include "io/model_dir.hpp"
#include "models/registry.hpp"
#include "decode_test_util.hpp"
#include "test_util.hpp"

using namespace januskit;

namespace {

struct Expected {
  nlohmann::json json;
  io::Checkpoint tensors;
};

Expected expected(const std::filesystem::path& dir) {
  return {io::read_json_file(dir / "expected.json"), io::Checkpoint::open_files({dir / "expected.safetensors"})};
}

std::vector<int32_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

engine::GenerationOptions greedy(int64_t n) {
  engine::GenerationOptions o;
  o.max_new_tokens = n;
  o.sampling.temperature = 0;
  return o;
}

class TextModelReference : public testing::TestWithParam<std::string> {
 protected:
  std::filesystem::path dir() const { return test::fixture_dir("text_models") / GetParam(); }
};

}  // namespace

TEST_P(TextModelReference, FullSequenceLogitsF32) {
  auto model = models::load_text_decoder(io::ModelDir::open(dir()), c10::Device(c10::kCPU), at::kFloat);
  Expected e = expected(dir());
  at::Tensor ours = test::full_sequence_logits(*model, ids_of(e.json["sequence"]));
  at::Tensor ref = e.tensors.view("logits_f32");
  ASSERT_EQ(ours.sizes(), ref.sizes());
  double rel = test::rel_error(ours, ref);
  EXPECT_LT(rel, 1e-4) << "max abs diff " << test::max_abs_diff(ours, ref);
}

TEST_P(TextModelReference, FullSequenceLogitsBf16) {
  auto model = models::load_text_decoder(io::ModelDir::open(dir()), c10::Device(c10::kCPU), at::kBFloat16);
  Expected e = expected(dir());
  at::Tensor ours = test::full_sequence_logits(*model, ids_of(e.json["sequence"]));
  EXPECT_EQ(ours.scalar_type(), at::kFloat);
  EXPECT_LT(test::rel_error(ours, e.tensors.view("logits_bf16")), 1e-2);
}

TEST_P(TextModelReference, GreedyTokensIdentical) {
  auto model = models::load_text_decoder(io::ModelDir::open(dir()), c10::Device(c10::kCPU), at::kFloat);
  Expected e = expected(dir());
  engine::TextGenerator gen(*model);
  auto out = gen.generate({ids_of(e.json["prompt"])}, greedy(64));
  EXPECT_EQ(out.rows[0].tokens, ids_of(e.json["greedy"]));
}

TEST_P(TextModelReference, BatchOfThreePromptsEqualsEachAlone) {
  auto model = models::load_text_decoder(io::ModelDir::open(dir()), c10::Device(c10::kCPU), at::kFloat);
  Expected e = expected(dir());
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& p : e.json["batch_prompts"]) prompts.push_back(ids_of(p));
  auto out = engine::TextGenerator(*model).generate(prompts, greedy(24));
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(out.rows[i].tokens, ids_of(e.json["batch_greedy"][i])) << "prompt " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Tiny, TextModelReference, testing::Values("qwen2", "llama3", "llama3_tied", "qwen3", "qwen3_tied"));
