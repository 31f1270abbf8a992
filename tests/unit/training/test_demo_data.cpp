// The synthetic data of the demo models: held-out splits, prompts and captions, arithmetic traces,
// and the BPE tokenizer trained on them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <regex>
#include <set>

#include <opencv2/imgproc.hpp>

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
    EXPECT_EQ(s.radius(), s.size == Size::small ? 6.0f : 10.0f);
    ShapeScene j = jittered(s, rng);
    EXPECT_LE(std::abs(j.dx), 1);
    EXPECT_LE(std::abs(j.dy), 1);
    EXPECT_EQ(canonical_prompt(j), canonical_prompt(s));  // the same picture as far as words go
    offsets.insert({static_cast<int>(j.dx), static_cast<int>(j.dy)});
  }
  EXPECT_EQ(offsets.size(), 9u);
}

// The shape's bounding box and covered area (anti-aliased pixels count in part) in a 256x256
// rendering, fine enough that anti-aliasing and pixel rounding matter little.
constexpr int kFine = 256;
struct Drawn {
  cv::Rect box;
  double area = 0;
};
Drawn drawn(const ShapeScene& s) {
  io::RgbImage img = render(s, kFine);
  const Colour& bg = background_colours()[static_cast<size_t>(s.background)];
  const Colour& fg = shape_colours()[static_cast<size_t>(s.colour)];
  cv::Mat mask(img.height, img.width, CV_8U, cv::Scalar(0));
  Drawn d;
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = &img.pixels[static_cast<size_t>((y * img.width + x) * 3)];
      const int channel = std::abs(fg.r - bg.r) >= std::abs(fg.g - bg.g) ? 0 : 1;  // one that differs
      const int full = channel == 0 ? fg.r - bg.r : fg.g - bg.g;
      const int here = p[channel] - (channel == 0 ? bg.r : bg.g);
      if (full != 0) d.area += static_cast<double>(here) / full;
      mask.at<uint8_t>(y, x) = (p[0] != bg.r || p[1] != bg.g || p[2] != bg.b) ? 255 : 0;
    }
  }
  d.box = cv::boundingRect(mask);
  return d;
}

TEST(ShapesData, LooselyPlacedShapesStayWholeAndTakeTheNearestPlace) {
  std::mt19937_64 rng(11);
  std::set<Position> positions;
  float lo = 1, hi = 1;
  for (int i = 0; i < 400; ++i) {
    ShapeScene s = random_scene(rng);
    ShapeScene l = loosely_placed(s, rng);
    EXPECT_EQ(l.shape, s.shape);
    EXPECT_EQ(l.size, s.size);
    EXPECT_GE(l.scale, 0.85f);
    EXPECT_LE(l.scale, 1.15f);
    lo = std::min(lo, l.scale), hi = std::max(hi, l.scale);
    // No edge of the canvas cuts the shape: it covers (nearly: edges fall differently on the pixel
    // grid) as much as the same shape in the middle, and background remains all round it.
    ShapeScene middle = l;
    middle.position = Position::center;
    middle.dx = middle.dy = 0;
    const Drawn here = drawn(l);
    EXPECT_GE(here.area, 0.97 * drawn(middle).area) << canonical_prompt(l);
    EXPECT_GE(std::min(here.box.x, here.box.y), 1) << canonical_prompt(l);
    EXPECT_LE(std::max(here.box.x + here.box.width, here.box.y + here.box.height), kFine - 1) << canonical_prompt(l);
    // The centre is nearer to the place it is named after than to any other (each place's centre
    // measured from a picture drawn there, in pixels of the 32x32 canvas).
    ShapeScene home = l;
    home.dx = home.dy = 0;
    const cv::Rect named = drawn(home).box;
    const float own = l.dx * l.dx + l.dy * l.dy;
    for (Position p : {Position::center, Position::top_left, Position::top_right, Position::bottom_left,
                       Position::bottom_right}) {
      ShapeScene other = home;
      other.position = p;
      const cv::Rect there = drawn(other).box;
      const float ddx = l.dx + static_cast<float>(named.x - there.x) * 32.0f / kFine;
      const float ddy = l.dy + static_cast<float>(named.y - there.y) * 32.0f / kFine;
      EXPECT_LE(own, ddx * ddx + ddy * ddy + 0.1f) << canonical_prompt(l) << " vs " << position_name(p);
    }
    positions.insert(l.position);
  }
  EXPECT_EQ(positions.size(), 5u);
  EXPECT_LT(lo, 0.88f);  // the whole size range is used
  EXPECT_GT(hi, 1.12f);
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
  // The post-processor and the processor prepend BOS when asked to, as the real Janus and R1 ones do.
  EXPECT_EQ(tok.encode("a red circle", text::SpecialTokens::tokenizer_json).front(),
            *tok.token_id("<｜begin▁of▁sentence｜>"));
  EXPECT_EQ(tok.encode("a red circle", text::SpecialTokens::processor).front(), *tok.token_id("<｜begin▁of▁sentence｜>"));
  // <think> is an added token: one id.
  EXPECT_EQ(tok.encode("<think>").size(), 1u);
}
