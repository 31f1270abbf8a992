// Reasoning output of R1-style models: split the thinking from the answer, find the final answer.
//
// Design note: the R1 prompt ends with "<think>\n", so generated text starts inside the reasoning
// and has no opening tag; it looks like "reasoning…\n</think>\n\nanswer". split_reasoning follows
// the deepseek_r1 parsers of vLLM and SGLang:
//   * an extra "<think>" at the start (models that emit it themselves, R1-0528) is dropped,
//     together with whitespace before it; where the model opens the block itself (may_open) it is
//     what starts the reasoning, and output without it is all answer (vLLM's qwen3 parser);
//   * the split is at the FIRST "</think>"; without one, everything is (unfinished, e.g.
//     budget-truncated) reasoning and the content is empty;
//   * newlines around the boundary are removed, as llama.cpp's reasoning_content does: line breaks
//     (\n, \r) at the start and end of the reasoning and at the start of the content. Anything
//     else, including the content's trailing text, is kept byte for byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace januskit::text {

// Where generated text starts relative to the reasoning (chosen by the prompt format).
enum class ReasoningStart {
  inside,    // the prompt opened <think> (R1, QwQ): the output is reasoning until </think>
  may_open,  // a leading <think> opens the reasoning (R1-0528, Qwen3); without one it is all answer
  none,      // no reasoning at all (raw prompts, Janus): everything is answer
};

struct ReasoningSplit {
  std::string reasoning;
  std::string content;
  bool finished_reasoning = false;  // a </think> closed the reasoning
  bool had_reasoning = false;       // the output started in (or opened) a reasoning block
};

ReasoningSplit split_reasoning(std::string_view generated, ReasoningStart start = ReasoningStart::inside);

// The argument of the last complete \boxed{…} (braces nested to any depth; \{ and \} are escaped
// braces and do not count). An unterminated last box (output cut off) is skipped in favour of the
// previous complete one. nullopt when there is none.
std::optional<std::string> extract_boxed(std::string_view text);

// The answer used for --samples voting: the last \boxed{…} (trimmed), else the last number in the
// text (thousands separators removed, e.g. "1,234.5" -> "1234.5"; a leading '-' kept), else nullopt.
std::optional<std::string> final_answer(std::string_view content);

}  // namespace januskit::text
