// `januskit ask`: one question to an R1-style reasoning model; the reasoning and the answer stream
// as they are generated. With samples > 1, several answers are sampled in one batch and the final
// answers (last \boxed{}, else last number) are put to a vote (self-consistency).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/text_generator.hpp"
#include "pipelines/text_model.hpp"

namespace januskit::pipelines {

struct AskOptions {
  ModelRequest model;
  std::string question;
  std::string system;             // --system; DeepSeek recommends none for R1
  std::vector<text::Message> messages;  // --messages: a whole conversation instead of system + question
  std::string chat_format = "auto";     // --chat-format: auto (from the folder) or a text::ChatFormat name
  bool thinking = true;                 // false: --no-think
  // Set (the CLI): the sampling settings not given come from the folder's generation_config.json.
  std::optional<SamplingGiven> folder_sampling;
  bool raw = false;               // no chat template: the text is encoded as the tokenizer does by itself
  int64_t max_tokens = 8192;      // new tokens per answer (reasoning included)
  engine::SamplingOptions sampling = default_r1_sampling();
  std::optional<uint64_t> seed;   // unset: a random seed, reported in the result
  int64_t think_budget = -1;      // >= 0: after this many reasoning tokens force "</think>\n"
  int64_t samples = 1;            // > 1: sample this many answers and vote
  int64_t batch = 8;              // rows (questions × samples) generated together
  std::vector<std::string> stop;  // stop strings: the answer is cut before the first one

  // DeepSeek's recommended R1 settings: temperature 0.6, top-p 0.95.
  static engine::SamplingOptions default_r1_sampling();
};

struct AskSample {
  std::vector<int32_t> output_ids;
  std::string reasoning;
  std::string content;
  std::optional<std::string> final_answer;
  std::string finish_reason;      // "eos", "length", "context_full", "stop_string"
  int64_t reasoning_tokens = 0;   // tokens before </think> (all of them when it never came)
  uint64_t seed = 0;
};

struct AskResult {
  std::string model;
  std::string chat_format;  // the format used ("raw" for --raw)
  bool thinking = true;     // reasoning was asked for (after --no-think and /no_think)
  std::vector<int32_t> prompt_ids;
  std::vector<AskSample> samples;
  std::optional<std::string> final_answer;  // the vote's winner (the only sample's answer for 1)
  int64_t agreement = 0;                    // samples whose answer is the winner
  engine::GenerationStats stats;
};

// Where streamed text goes (only for samples == 1); either may be empty.
struct AskStreams {
  std::function<void(std::string_view)> reasoning;
  std::function<void(std::string_view)> answer;
};

AskResult ask(const AskOptions& options, const AskStreams& streams = {});
// The same, with an already loaded model (tests, chat).
AskResult ask(TextModel& model, const AskOptions& options, const AskStreams& streams = {});
// Many questions (options.question and options.messages are ignored), answered in batches of options.batch rows; row r of
// the run (question-major, then sample) draws with seed + r. No streaming.
std::vector<AskResult> ask_batch(const std::vector<std::string>& questions, const AskOptions& options);

// One JSON object with vLLM/llama.cpp field names: prompt_ids, output_ids, reasoning_content (and
// the same text as reasoning, vLLM's newer name), content, final_answer, finish_reason, usage,
// timings, seed, chat_format, thinking (+ samples and agreement for several).
nlohmann::json to_json(const AskResult& result);

// Majority vote over final answers; ties go to the answer seen first. Returns the winner and its count.
std::pair<std::optional<std::string>, int64_t> vote(const std::vector<std::optional<std::string>>& answers);

// A conversation as the model's template renders it (format unset: the last message's text as the
// tokenizer encodes it by itself, --raw), encoded.
struct PreparedPrompt {
  std::vector<int32_t> ids;
  bool thinking = false;  // reasoning was asked for (after /no_think)
  text::ReasoningStart start = text::ReasoningStart::none;
};
PreparedPrompt prepare_prompt(const TextModel& model, const std::optional<text::ChatFormat>& format, bool thinking,
                              const std::vector<text::Message>& conversation);
// One generated row as ask reports it: reasoning and answer split for the prompt's format, the
// final answer extracted.
AskSample make_sample(const TextModel& model, const PreparedPrompt& prompt, const engine::SequenceOutput& row,
                      uint64_t seed);

// The tokens a thinking budget works with, for one prompt format.
struct ThinkBudgetTokens {
  text::ReasoningStart start = text::ReasoningStart::inside;
  std::optional<int32_t> open_id;      // "<think>": where the model opens the block itself (may_open)
  int32_t close_id = -1;               // "</think>"
  std::vector<int32_t> close_ids;      // the forced closing text, text::kThinkCloseText ("</think>\n\n")
  std::vector<int32_t> empty_block;    // text::kEmptyThinkBlock, forced for budget 0 under may_open
};

// Ends the reasoning once a row has produced `budget` reasoning tokens by forcing the closing text.
// Under may_open the count starts after the model's own "<think>", a row whose first token is not
// "<think>" answers without reasoning and is left alone, and budget 0 forces the empty block.
class ThinkBudget final : public engine::TokenHook {
 public:
  ThinkBudget(int64_t budget, ThinkBudgetTokens tokens, int64_t rows);
  // The R1 form: the output starts inside the block; forces close_id, then after_close.
  ThinkBudget(int64_t budget, int32_t think_end_id, std::vector<int32_t> after_close, int64_t rows);
  std::optional<int32_t> override_token(int64_t row, int32_t sampled, std::span<const int32_t> generated) override;

 private:
  struct Row {
    int64_t reasoning_tokens = 0;
    bool opened = false;         // inside the reasoning block
    bool closed = false;
    std::vector<int32_t> queue;  // forced tokens still to emit
  };
  std::optional<int32_t> force(Row& r, const std::vector<int32_t>& ids);
  int64_t budget_;
  ThinkBudgetTokens tokens_;
  std::vector<Row> rows_;
};

// The budget hook for `rows` rows of a prompt (budget >= 0); null when there is nothing to close
// (no budget, thinking off, a format without reasoning). Error when the tokenizer lacks <think> tokens.
std::unique_ptr<ThinkBudget> think_budget_for(const TextModel& model, const PreparedPrompt& prompt, int64_t budget,
                                              int64_t rows);

}  // namespace januskit::pipelines
