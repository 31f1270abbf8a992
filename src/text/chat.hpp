// Prompt formats: DeepSeek-R1 (and its Qwen/Llama distills) and Janus-Pro (understanding and
// text-to-image), rendered to text that is then encoded with add_special_tokens = false.
//
// Design note: these are hand-written equivalents of the shipped chat templates (no Jinja at run
// time). R1 follows the distills' current tokenizer_config.json template (docs r1.md §2.4): BOS
// text, the system text with no marker, <｜User｜>/<｜Assistant｜> turns, earlier answers reduced to
// their text after the last </think>, and the generation prompt "<｜Assistant｜><think>\n". The BOS
// is part of the text, so encoding must not add another one. Janus follows the "deepseek" SFT
// conversation of the Janus repository (janus/utils/conversation.py, processing_vlm.py): contents
// and the whole prompt are .strip()-ped as Python does. Special-token ids are never hard-coded:
// expand_image_placeholders looks every tag up in the tokenizer by string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer.hpp"

namespace januskit::text {

struct Message {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
  // An assistant turn's reasoning given apart from its content (OpenAI-style "reasoning_content");
  // only the Qwen3 template uses it, the others see the content alone.
  std::optional<std::string> reasoning_content{};
};

// R1 special-token texts (fullwidth bars U+FF5C, U+2581 for the spaces).
inline constexpr std::string_view kR1Bos = "<｜begin▁of▁sentence｜>";
inline constexpr std::string_view kR1Eos = "<｜end▁of▁sentence｜>";
inline constexpr std::string_view kR1User = "<｜User｜>";
inline constexpr std::string_view kR1Assistant = "<｜Assistant｜>";
inline constexpr std::string_view kThinkOpen = "<think>";
inline constexpr std::string_view kThinkClose = "</think>";

// Janus-Pro tags (ASCII bars in the role names; the end of sentence keeps the fullwidth bars).
inline constexpr std::string_view kJanusUser = "<|User|>";
inline constexpr std::string_view kJanusAssistant = "<|Assistant|>";
inline constexpr std::string_view kJanusEos = "<｜end▁of▁sentence｜>";
inline constexpr std::string_view kImagePlaceholder = "<image_placeholder>";
inline constexpr std::string_view kBeginOfImage = "<begin_of_image>";
inline constexpr std::string_view kEndOfImage = "<end_of_image>";
inline constexpr std::string_view kJanusPad = "<｜▁pad▁｜>";
// VLChatProcessor.system_prompt, applied to every understanding prompt by the reference.
inline constexpr std::string_view kJanusSystemPrompt =
    "You are a helpful language and vision assistant. You are able to understand the visual content that the user "
    "provides, and assist the user with a variety of tasks using natural language.";

// R1 / R1-Distill: BOS text + system text + <｜User｜>… <｜Assistant｜>…<｜end▁of▁sentence｜> … +
// (generation prompt) "<｜Assistant｜><think>\n". Earlier assistant turns keep only the text after
// their last </think>. With several system messages the last one is used, as the distills'
// template does. Throws januskit::UsageError for an unknown role.
std::string render_r1(const std::vector<Message>& messages, bool add_generation_prompt = true,
                      std::string_view bos = kR1Bos);

// Janus understanding (deepseek SFT format). A "system" message, if present, replaces
// system_prompt. When the conversation ends with a user turn, the empty assistant turn that asks
// for an answer ("<|Assistant|>:") is appended, as the reference's callers do.
std::string render_janus_chat(const std::vector<Message>& messages, std::string_view system_prompt = kJanusSystemPrompt);

// Janus text-to-image: "<|User|>: {prompt}\n\n<|Assistant|>:<begin_of_image>" (no system prompt;
// the prompt is stripped as the reference strips message contents).
std::string render_janus_t2i(std::string_view prompt);

// Janus-4o text-and-image-to-image (its README's procedure): the text-to-image prompt whose user turn
// starts with the input picture twice, <begin_of_image> + n × <image_placeholder> + <end_of_image>
// (its understanding embeddings go there) and <begin_of_image> + n × pad + <end_of_image> (its
// generation embeddings), followed by the instruction.
std::string render_janus_edit(std::string_view instruction, int64_t understanding_tokens, int64_t generation_tokens);

// Replaces every <image_placeholder> id by <begin_of_image> + n × <image_placeholder> +
// <end_of_image> (ids looked up by string; throws naming a missing tag and the tokenizer file).
std::vector<int32_t> expand_image_placeholders(const std::vector<int32_t>& ids, const Tokenizer& tok,
                                               int num_image_tokens = 576);

// Python's str.strip() (Unicode whitespace as str.isspace() defines it).
std::string_view python_strip(std::string_view s);

}  // namespace januskit::text
