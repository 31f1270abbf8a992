// Chat formats: R1 (single and multi-turn, strings and ids on the DeepSeek-V3 tokenizer, where
// <think> is ordinary text) and Janus-Pro (understanding and text-to-image), image placeholder
// expansion.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.hpp"
#include "test_util.hpp"
#include "text/chat.hpp"
#include "tiny_tokenizer.hpp"

using namespace januskit;
using namespace januskit::text;

namespace {

const std::string kBos = "<｜begin▁of▁sentence｜>";
const std::string kQuestion =
    "What is the sum of the first 100 positive integers? Please reason step by step, and put your final answer within "
    "\\boxed{}.";

TEST(RenderR1, SingleTurnMatchesTheTemplate) {
  EXPECT_EQ(render_r1({{"user", "Hello"}}), kBos + "<｜User｜>Hello<｜Assistant｜><think>\n");
  EXPECT_EQ(render_r1({{"user", "Hello"}}, false), kBos + "<｜User｜>Hello");
  EXPECT_EQ(render_r1({{"user", "Hi"}}, true, ""), "<｜User｜>Hi<｜Assistant｜><think>\n");
}

TEST(RenderR1, SystemTextFollowsTheBosWithoutMarker) {
  EXPECT_EQ(render_r1({{"system", "Be brief."}, {"user", "Q"}}), kBos + "Be brief.<｜User｜>Q<｜Assistant｜><think>\n");
  // The distills' template keeps the last system message.
  EXPECT_EQ(render_r1({{"system", "A"}, {"user", "Q"}, {"system", "B"}}), kBos + "B<｜User｜>Q<｜Assistant｜><think>\n");
}

TEST(RenderR1, EarlierAnswersKeepOnlyTheTextAfterTheirLastThinkClose) {
  std::vector<Message> chat = {{"user", "Q1"},
                               {"assistant", "first</think>second thought\n</think>\n\nA1"},
                               {"user", "Q2"},
                               {"assistant", "no reasoning here"},
                               {"user", "Q3"}};
  EXPECT_EQ(render_r1(chat), kBos +
                                 "<｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜>"
                                 "<｜User｜>Q2<｜Assistant｜>no reasoning here<｜end▁of▁sentence｜>"
                                 "<｜User｜>Q3<｜Assistant｜><think>\n");
}

TEST(RenderR1, UnknownRoleIsAUsageError) {
  EXPECT_THROW(render_r1({{"tool", "x"}}), UsageError);
}

TEST(RenderR1, IdsOnTheDeepSeekV3Tokenizer) {
  JANUSKIT_REQUIRE_SHARED_FIXTURES();
  auto tok = Tokenizer::load(test::shared_fixtures() / "tokenizers" / "deepseek_v3");
  // The shared chat vector (R1 generation prompt on the V3 file: <think> is three ordinary tokens).
  std::ifstream in(test::shared_fixtures() / "tokenizers" / "deepseek_v3" / "chat_vectors.jsonl");
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line);
    if (row["template"] != "deepseek_r1") continue;
    found = true;
    std::string rendered = render_r1({{"user", kQuestion}});
    EXPECT_EQ(rendered, row["rendered"].get<std::string>());
    EXPECT_EQ(tok.encode(rendered), row["ids"].get<std::vector<int32_t>>());
  }
  EXPECT_TRUE(found);
  // Ids from the Rust crate (tokenizers 0.23.2) for the strings below.
  EXPECT_EQ(tok.encode(render_r1({{"user", "Hello"}})), (std::vector<int32_t>{0, 128803, 19923, 128804, 30, 37947, 1018}));
  std::vector<Message> multi = {{"system", "You are a careful assistant."},
                                {"user", "What is 2+2?"},
                                {"assistant", "2+2 is 4, obviously.\n</think>\n\n2 + 2 = **4**."},
                                {"user", "And 3+3?"}};
  std::string rendered = render_r1(multi);
  EXPECT_EQ(rendered, kBos + "You are a careful assistant.<｜User｜>What is 2+2?<｜Assistant｜>\n\n2 + 2 = **4**."
                             "<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜><think>\n");
  EXPECT_EQ(tok.encode(rendered),
            (std::vector<int32_t>{0,     3476, 477,    260, 16372, 22896, 16, 128803, 3085, 344, 223, 20, 13,
                                  20,    33,   128804, 271, 20,    940,   223, 20,     438,  2619, 22, 42499, 1,
                                  128803, 4195, 223,   21,  13,    21,    33, 128804, 30,   37947, 1018}));
  // The BOS is in the text: encoding must not add another one (V3's post-processor adds none).
  EXPECT_EQ(tok.encode(rendered, SpecialTokens::tokenizer_json).front(), 0);
  EXPECT_EQ(tok.encode(rendered, SpecialTokens::tokenizer_json).size(), tok.encode(rendered).size());
  // Its processor (LlamaTokenizerFast, add_bos_token true) would: which is why a rendered template is
  // encoded with SpecialTokens::none, as transformers' apply_chat_template does.
  EXPECT_EQ(tok.encode(rendered, SpecialTokens::processor).size(), tok.encode(rendered).size() + 1);
}

TEST(RenderJanus, UnderstandingPromptHasTheSystemPromptAndAnEmptyAssistantTurn) {
  std::string expected = std::string(kJanusSystemPrompt) +
                         "\n\n<|User|>: <image_placeholder>\nDescribe this image.\n\n<|Assistant|>:";
  EXPECT_EQ(render_janus_chat({{"user", "<image_placeholder>\nDescribe this image."}}), expected);
  // Contents are stripped as Python's str.strip() does (including U+3000 and U+0085).
  EXPECT_EQ(render_janus_chat({{"user", " \u3000<image_placeholder>\nDescribe this image.\n\u0085"}}), expected);
  EXPECT_EQ(render_janus_chat({{"user", "<image_placeholder>\nDescribe this image."}, {"assistant", ""}}), expected);
}

TEST(RenderJanus, MultiTurnSeparatorsAlternate) {
  std::vector<Message> chat = {{"user", "Q1"}, {"assistant", " A1 "}, {"user", "Q2"}};
  EXPECT_EQ(render_janus_chat(chat, ""),
            "<|User|>: Q1\n\n<|Assistant|>: A1<｜end▁of▁sentence｜><|User|>: Q2\n\n<|Assistant|>:");
  EXPECT_EQ(render_janus_chat({{"system", "Sys."}, {"user", "Q"}}), "Sys.\n\n<|User|>: Q\n\n<|Assistant|>:");
  // A conversation that ends with an answer renders it with the end-of-sentence separator.
  EXPECT_EQ(render_janus_chat({{"user", "Q"}, {"assistant", "A"}}, ""), "<|User|>: Q\n\n<|Assistant|>: A<｜end▁of▁sentence｜>");
}

TEST(RenderJanus, TextToImagePrompt) {
  EXPECT_EQ(render_janus_t2i("A red fox in the snow"), "<|User|>: A red fox in the snow\n\n<|Assistant|>:<begin_of_image>");
  EXPECT_EQ(render_janus_t2i("  A red fox\n"), "<|User|>: A red fox\n\n<|Assistant|>:<begin_of_image>");
  EXPECT_EQ(render_janus_t2i(""), "<|User|>:<|Assistant|>:<begin_of_image>");
}

TEST(PythonStrip, UnicodeWhitespace) {
  EXPECT_EQ(python_strip(" \t\n\u00a0x y\u2003\u0085\x1c"), "x y");
  EXPECT_EQ(python_strip("\ufeffx"), "\ufeffx");  // U+FEFF is not whitespace for Python
  EXPECT_EQ(python_strip("   "), "");
}

TEST(ExpandImagePlaceholders, ReplacesEachPlaceholderByTheImageBlock) {
  test::TempDir dir;
  auto tok = Tokenizer::load(dir.write("tokenizer.json", test::tiny_tokenizer_json().dump()));
  int32_t p = tok.require_token_id("<image_placeholder>"), b = tok.require_token_id("<begin_of_image>"),
          e = tok.require_token_id("<end_of_image>");
  std::vector<int32_t> ids = tok.encode("hi<image_placeholder>x<image_placeholder>");
  std::vector<int32_t> out = expand_image_placeholders(ids, tok);
  ASSERT_EQ(out.size(), ids.size() + 2 * 577);
  EXPECT_EQ(out[2], b);
  EXPECT_EQ(std::count(out.begin(), out.end(), p), 2 * 576);
  EXPECT_EQ(out[2 + 577], e);
  EXPECT_EQ(expand_image_placeholders({1, p, 2}, tok, 3), (std::vector<int32_t>{1, b, p, p, p, e, 2}));
  EXPECT_THROW(expand_image_placeholders({p}, tok, 0), UsageError);
}

TEST(ExpandImagePlaceholders, MissingTagNamesTheTokenAndTheFile) {
  test::TempDir dir;
  auto j = test::tiny_tokenizer_json();
  j["added_tokens"].erase(1);  // <begin_of_image>
  auto path = dir.write("tokenizer.json", j.dump());
  auto tok = Tokenizer::load(path);
  try {
    expand_image_placeholders({1}, tok);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("<begin_of_image>"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find(path.string()), std::string::npos) << err.what();
  }
}

}  // namespace
