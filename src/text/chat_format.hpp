// The prompt formats of the open reasoning models, chosen from what a model folder says.
//
// Design note: every format is a hand-written equivalent of one vendor chat template (no Jinja at
// run time), tested id for id against the template rendered by jinja2 (tests/reference):
//   r1            DeepSeek-R1-Distill (Qwen and Llama): render_r1 in chat.hpp.
//   r1-0528       DeepSeek-R1-0528 and its Qwen3-8B distill: all system messages joined by a blank
//                 line after BOS, "<｜User｜>…<｜Assistant｜>" per user turn, the model opens its
//                 own <think>.
//   chatml-think  QwQ-32B: ChatML, earlier answers reduced to their text after </think>, the
//                 generation prompt "<|im_start|>assistant\n<think>\n".
//   qwen3         Qwen3 hybrid thinking: ChatML, reasoning of turns after the last user query kept
//                 inside <think> blocks, thinking switched off by enable_thinking=false (an empty
//                 "<think>\n\n</think>\n\n") or by "/no_think" in the latest user message that
//                 carries a switch.
//   janus         Janus-Pro's "deepseek" SFT conversation (render_janus_chat).
// Thinking off on formats whose vendor template has no switch: r1 and chatml-think close the
// opened block at once ("<think>\n</think>", as llama.cpp's copies of those templates do for
// enable_thinking=false); r1-0528 gets Qwen3's empty block, since its model opens <think> itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/chat.hpp"
#include "text/reasoning.hpp"

namespace januskit::text {

enum class ChatFormat { r1, r1_0528, chatml_think, qwen3, janus };

// "r1", "r1-0528", "chatml-think", "qwen3", "janus".
std::string_view chat_format_name(ChatFormat format);
// A --chat-format value other than "auto"; UsageError listing the choices.
ChatFormat parse_chat_format(std::string_view name);
// "auto|r1|r1-0528|chatml-think|qwen3|janus", for help texts and messages.
std::string_view chat_format_choices();

struct ChatRequest {
  ChatFormat format = ChatFormat::r1;
  bool thinking = true;            // false: --no-think (Qwen3's enable_thinking=false)
  std::string_view bos = kR1Bos;   // BOS text of the R1 formats (the tokenizer's bos_token)
};

struct RenderedChat {
  std::string text;      // encode with add_special_tokens = false: BOS, where any, is in the text
  bool thinking = true;  // after --no-think and the /think, /no_think switches
  // inside (r1, chatml-think), may_open (r1-0528, qwen3, and every format with thinking off: a
  // model may still write a block), none (janus).
  ReasoningStart start = ReasoningStart::inside;
};

// Renders a conversation with a generation prompt for the next assistant turn. Throws UsageError
// for an unknown role, an empty conversation, and --no-think on janus.
RenderedChat render_chat(const std::vector<Message>& messages, const ChatRequest& request);

// The text --think-budget forces to end the reasoning (the template's "</think>\n\n" before an
// answer), and the empty block that stands for no reasoning where the model opens <think> itself.
inline constexpr std::string_view kThinkCloseText = "</think>\n\n";
inline constexpr std::string_view kEmptyThinkBlock = "<think>\n\n</think>\n\n";

// The token text that ends an assistant turn: "<|im_end|>" for the ChatML formats,
// "<｜end▁of▁sentence｜>" for the R1 formats and Janus.
std::string_view turn_end_text(ChatFormat format);

// What a folder says about its prompt format.
struct ChatFormatEvidence {
  std::string folder;                        // for messages
  std::vector<std::string> architectures;    // config.json
  std::optional<std::string> chat_template;  // tokenizer_config.json's chat_template or chat_template.jinja
  std::string template_file;                 // where chat_template came from
  bool has_r1_role_tokens = false;           // the tokenizer knows <｜User｜> and <｜Assistant｜>
};

struct DetectedFormat {
  ChatFormat format;
  std::string reason;  // one line for -v
};

// Janus architectures -> janus; else the chat template's fingerprint; a folder without any template
// -> r1 when its tokenizer has the R1 role tokens. Anything else throws Error naming --chat-format.
DetectedFormat detect_chat_format(const ChatFormatEvidence& evidence);

}  // namespace januskit::text
