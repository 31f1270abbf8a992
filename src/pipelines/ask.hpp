// `januskit ask`: one question to an R1-style reasoning model; the reasoning and the answer stream
// as they are generated. With samples > 1, several answers are sampled in one batch and the final
// answers (last \boxed{}, else last number) are put to a vote (self-consistency).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
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
// Many questions (options.question is ignored), answered in batches of options.batch rows; row r of
// the run (question-major, then sample) draws with seed + r. No streaming.
std::vector<AskResult> ask_batch(const std::vector<std::string>& questions, const AskOptions& options);

// One JSON object with vLLM/llama.cpp field names: prompt_ids, output_ids, reasoning_content,
// content, final_answer, finish_reason, usage, timings, seed (+ samples and agreement for several).
nlohmann::json to_json(const AskResult& result);

// Majority vote over final answers; ties go to the answer seen first. Returns the winner and its count.
std::pair<std::optional<std::string>, int64_t> vote(const std::vector<std::optional<std::string>>& answers);

// Forces "</think>" + newline once a row has produced `budget` reasoning tokens.
class ThinkBudget final : public engine::TokenHook {
 public:
  ThinkBudget(int64_t budget, int32_t think_end_id, std::vector<int32_t> newline_ids, int64_t rows);
  std::optional<int32_t> override_token(int64_t row, int32_t sampled, std::span<const int32_t> generated) override;

 private:
  struct Row {
    int64_t reasoning_tokens = 0;
    bool closed = false;
    std::vector<int32_t> queue;  // forced tokens still to emit
  };
  int64_t budget_;
  int32_t think_end_id_;
  std::vector<int32_t> newline_ids_;
  std::vector<Row> rows_;
};

}  // namespace januskit::pipelines
