// Prompt-format detection on the vendors' real chat templates, the thinking switches, and the
// reasoning split where the model opens <think> itself (whole-conversation renderings are checked
// id for id against jinja2 in tests/reference/test_chat_templates.py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "test_util.hpp"
#include "text/chat_format.hpp"
#include "text/reasoning_stream.hpp"

using namespace januskit;
using namespace januskit::text;

namespace {

// The checkout (ctest sets JANUSKIT_SOURCE_DIR), for the R1-0528 template the tests keep.
std::filesystem::path source_dir() {
  const char* dir = std::getenv("JANUSKIT_SOURCE_DIR");
  return dir == nullptr ? std::filesystem::path(".") : std::filesystem::path(dir);
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

DetectedFormat detect_template(const std::string& tmpl, std::vector<std::string> architectures = {}) {
  ChatFormatEvidence e;
  e.folder = "model";
  e.architectures = std::move(architectures);
  e.chat_template = tmpl;
  e.template_file = "model/tokenizer_config.json";
  return detect_chat_format(e);
}

TEST(ChatFormatDetection, TheVendorsTemplates) {
  JANUSKIT_REQUIRE_SHARED_FIXTURES();
  const auto dir = test::shared_fixtures() / "chat_templates";
  EXPECT_EQ(detect_template(read(dir / "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja")).format, ChatFormat::r1);
  EXPECT_EQ(detect_template(read(dir / "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja")).format, ChatFormat::r1);
  EXPECT_EQ(detect_template(read(dir / "Qwen-QwQ-32B.jinja")).format, ChatFormat::chatml_think);
  EXPECT_EQ(detect_template(read(dir / "Qwen-Qwen3-0.6B.jinja")).format, ChatFormat::qwen3);
  EXPECT_EQ(detect_template(read(source_dir() / "tests/reference/templates/deepseek-r1-0528.jinja")).format,
            ChatFormat::r1_0528);
}

TEST(ChatFormatDetection, UnknownTemplatesAndMissingOnesNameTheFlag) {
  const std::string chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
  try {
    detect_template(chatml);
    FAIL() << "plain ChatML has no reasoning format";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--chat-format"), std::string::npos) << e.what();
  }
  // DeepSeek-V3.1's hybrid generation prompt is not R1's.
  EXPECT_THROW(detect_template("{{'<｜User｜>' + c}}{{'<｜Assistant｜></think>'}}"), Error);
  ChatFormatEvidence none;
  none.folder = "model";
  EXPECT_THROW(detect_chat_format(none), Error);
  none.has_r1_role_tokens = true;
  EXPECT_EQ(detect_chat_format(none).format, ChatFormat::r1);
  EXPECT_EQ(detect_template("anything", {"MultiModalityCausalLM"}).format, ChatFormat::janus);
  EXPECT_THROW(parse_chat_format("llama2"), UsageError);
}

TEST(ChatFormatRender, ThinkingSwitchesAndWhereTheOutputStarts) {
  const std::vector<Message> q = {{"user", "Q"}};
  RenderedChat r1 = render_chat(q, {ChatFormat::r1, true, kR1Bos});
  EXPECT_EQ(r1.start, ReasoningStart::inside);
  EXPECT_TRUE(r1.text.ends_with("<｜Assistant｜><think>\n"));
  EXPECT_TRUE(render_chat(q, {ChatFormat::r1, false, kR1Bos}).text.ends_with("<think>\n</think>"));
  RenderedChat qwen = render_chat(q, {ChatFormat::qwen3, true, ""});
  EXPECT_EQ(qwen.text, "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(qwen.start, ReasoningStart::may_open);
  RenderedChat soft = render_chat({{"user", "Q /think"}, {"assistant", "A"}, {"user", "Q2 /no_think"}},
                                  {ChatFormat::qwen3, true, ""});
  EXPECT_FALSE(soft.thinking);
  EXPECT_TRUE(soft.text.ends_with("assistant\n<think>\n\n</think>\n\n"));
  // --no-think wins over a /think in the message.
  EXPECT_FALSE(render_chat({{"user", "Q /think"}}, {ChatFormat::qwen3, false, ""}).thinking);
  EXPECT_THROW(render_chat(q, {ChatFormat::janus, false, ""}), UsageError);
  EXPECT_THROW(render_chat({}, {ChatFormat::qwen3, true, ""}), UsageError);
}

TEST(ReasoningSplit, ModelsThatOpenTheirOwnBlock) {
  auto opened = split_reasoning("<think>\nsum\n</think>\n\nIt is 4.", ReasoningStart::may_open);
  EXPECT_EQ(opened.reasoning, "sum");
  EXPECT_EQ(opened.content, "It is 4.");
  auto direct = split_reasoning("It is 4.</think>", ReasoningStart::may_open);
  EXPECT_FALSE(direct.had_reasoning);
  EXPECT_EQ(direct.content, "It is 4.</think>");
  EXPECT_EQ(split_reasoning("<think>cut off", ReasoningStart::may_open).reasoning, "cut off");
}

TEST(ReasoningStream, MayOpenDecidesOnTheFirstText) {
  ReasoningStream s(ReasoningStart::may_open);
  std::string reasoning, answer;
  for (std::string_view piece : {"\n<th", "ink>", "\nsum", "\n</thi", "nk>\n\n", "It is 4."}) {
    auto p = s.push(piece);
    reasoning += p.reasoning;
    answer += p.answer;
  }
  auto p = s.finish();
  reasoning += p.reasoning;
  answer += p.answer;
  EXPECT_EQ(reasoning, "sum");
  EXPECT_EQ(answer, "It is 4.");
  ReasoningStream direct(ReasoningStart::may_open);
  EXPECT_EQ(direct.push("<b>bold").answer, "<b>bold");
}

// What a streaming client assembles is what split_reasoning gives for the whole text (the server's
// streamed and non-streamed answers agree), however the text is cut into pieces.
TEST(ReasoningStream, PiecesAddUpToSplitReasoning) {
  const std::vector<std::pair<std::string, ReasoningStart>> cases = {
      {"\nAdd 7.\nCarry 1.\n\n</think>\n\nIt is 105.", ReasoningStart::inside},
      {"Line one.\r\n\r\nLine two.\n</think>\n\n12\n", ReasoningStart::inside},
      {"<think>\nhm\n\n", ReasoningStart::inside},
      {"still thinking\n\n", ReasoningStart::inside},
      {"\n<think>\nsum\n</think>\n\nIt is 4.", ReasoningStart::may_open},
      {"No reasoning here.\n", ReasoningStart::may_open},
      {"\n\nplain answer", ReasoningStart::none},
  };
  for (const auto& [text, start] : cases) {
    const ReasoningSplit whole = split_reasoning(text, start);
    for (size_t step : {1u, 2u, 3u, 5u, 100u}) {
      ReasoningStream s(start);
      std::string reasoning, answer;
      for (size_t i = 0; i < text.size(); i += step) {
        auto p = s.push(std::string_view(text).substr(i, step));
        reasoning += p.reasoning;
        answer += p.answer;
      }
      auto p = s.finish();
      reasoning += p.reasoning;
      answer += p.answer;
      EXPECT_EQ(reasoning, whole.reasoning) << text << " in pieces of " << step;
      EXPECT_EQ(answer, whole.content) << text << " in pieces of " << step;
    }
  }
}

}  // namespace
