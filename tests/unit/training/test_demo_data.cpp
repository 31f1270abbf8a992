// The synthetic data of the demo models: held-out splits, prompts and captions, arithmetic traces,
// and the BPE tokenizer trained on them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <regex>
#include <set>

#include "text/bpe_trainer.hpp"
#include "text/tokenizer.hpp"
#include "training/arithmetic_data.hpp"
#include "training/demo_models.hpp"
#include "training/shapes_data.hpp"

using namespace januskit;
using namespace januskit::training;

TEST(ShapesData, TrainingNeverDrawsHeldOutCombinations) {
  std::mt19937_64 rng(3);
  std::set<std::tuple<int, int, int>> held;
  for (int i = 0; i < 4000; ++i) {
    ShapeScene s = random_scene(rng, false);
    EXPECT_FALSE(held_out(s));
    EXPECT_NE(s.colour_name(), s.background_name());
    ShapeScene h = random_scene(rng, true);
    EXPECT_TRUE(held_out(h));
    held.insert({static_cast<int>(h.shape), h.colour, h.background});
  }
  // Every held-out triple is reachable, and there are enough for 48 distinct test prompts with
  // sizes and positions.
  EXPECT_GE(held.size(), 20u);
}

TEST(ShapesData, RenderedSceneHasShapeColourWhereThePromptSays) {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 50; ++i) {
    ShapeScene s = random_scene(rng);
    const Colour& fg = shape_colours()[s.colour];
    const Colour& bg = background_colours()[s.background];
    // The demo size (32) and a larger one: the geometry scales with the image.
    for (int size : {32, 64}) {
      io::RgbImage img = size == 32 ? render(s) : render(s, size);
      ASSERT_EQ(img.width, size);
      ASSERT_EQ(img.height, size);
      // The corner pixel is background; some pixel carries the exact shape colour.
      EXPECT_EQ(img.pixels[0], bg.r);
      bool found = false;
      for (size_t p = 0; p + 2 < img.pixels.size(); p += 3) {
        found |= img.pixels[p] == fg.r && img.pixels[p + 1] == fg.g && img.pixels[p + 2] == fg.b;
      }
      EXPECT_TRUE(found) << canonical_prompt(s) << " at " << size << " px";
    }
    const std::string prompt = canonical_prompt(s), caption = caption_for(s);
    EXPECT_NE(prompt.find(s.colour_name() + " " + s.shape_name()), std::string::npos) << prompt;
    EXPECT_NE(caption.find(s.colour_name() + " " + s.shape_name()), std::string::npos) << caption;
  }
}

TEST(ShapesData, ScenesAreCanonicalUntilJittered) {
  std::mt19937_64 rng(6);
  std::set<std::pair<int, int>> offsets;
  for (int i = 0; i < 200; ++i) {
    ShapeScene s = random_scene(rng);
    EXPECT_EQ(s.dx, 0);
    EXPECT_EQ(s.dy, 0);
    EXPECT_EQ(s.radius(), s.size == Size::small ? 6 : 10);
    ShapeScene j = jittered(s, rng);
    EXPECT_LE(std::abs(j.dx), 1);
    EXPECT_LE(std::abs(j.dy), 1);
    EXPECT_EQ(canonical_prompt(j), canonical_prompt(s));  // the same picture as far as words go
    offsets.insert({j.dx, j.dy});
  }
  EXPECT_EQ(offsets.size(), 9u);
}

TEST(ArithmeticData, TracesReachTheBoxedResult) {
  std::mt19937_64 rng(5);
  std::regex boxed(R"(\\boxed\{(-?\d+)\})");
  for (int i = 0; i < 500; ++i) {
    ArithmeticProblem p = random_problem(rng);
    EXPECT_FALSE(held_out(p));
    std::string r = p.response();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r, m, boxed)) << r;
    EXPECT_EQ(std::stoll(m[1]), p.result()) << r;
    EXPECT_NE(r.find("\n</think>\n\n"), std::string::npos);
  }
  ArithmeticProblem sub{12, 345, '-'};
  EXPECT_EQ(sub.question(), "What is 12 - 345?");
  EXPECT_NE(sub.response().find("\\boxed{-333}"), std::string::npos) << sub.response();
  ArithmeticProblem carry{999, 1, '+'};
  EXPECT_NE(carry.response().find("9 + 0 + 1 = 10, write 10."), std::string::npos) << carry.response();
}

TEST(DemoTokenizer, LoadsEncodesDigitsSinglyAndKeepsSpecialTokensWhole) {
  nlohmann::json doc = demo_tokenizer();
  text::Tokenizer tok = text::Tokenizer::from_json_text(doc.dump(), "demo tokenizer.json");
  EXPECT_GT(tok.vocab_size(), 256u + 100u);
  for (const char* t : {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<image_placeholder>",
                        "<begin_of_image>", "<end_of_image>", "<|User|>", "<|Assistant|>", "<｜User｜>",
                        "<｜Assistant｜>", "<think>", "</think>"}) {
    EXPECT_TRUE(tok.token_id(t).has_value()) << t;
  }
  // Digits are split one per token (arithmetic needs them aligned), and text round-trips.
  std::vector<int32_t> ids = tok.encode("What is 347 + 586?");
  EXPECT_EQ(tok.decode(ids), "What is 347 + 586?");
  int digit_tokens = 0;
  for (int32_t id : ids) {
    std::string piece = tok.decode(std::vector<int32_t>{id});
    if (piece.size() == 1 && std::isdigit(static_cast<unsigned char>(piece[0]))) ++digit_tokens;
  }
  EXPECT_EQ(digit_tokens, 6);
  // The post-processor prepends BOS when asked to, as the real Janus and R1 tokenizers do.
  EXPECT_EQ(tok.encode("a red circle", true).front(), *tok.token_id("<｜begin▁of▁sentence｜>"));
  // <think> is an added token: one id.
  EXPECT_EQ(tok.encode("<think>").size(), 1u);
}
