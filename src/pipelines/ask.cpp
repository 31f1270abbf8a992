#include "pipelines/ask.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "text/chat.hpp"
#include "text/reasoning.hpp"
#include "text/reasoning_stream.hpp"

namespace januskit::pipelines {

engine::SamplingOptions AskOptions::default_r1_sampling() {
  engine::SamplingOptions s;
  s.temperature = 0.6;
  s.top_p = 0.95;
  return s;
}

ThinkBudget::ThinkBudget(int64_t budget, int32_t think_end_id, std::vector<int32_t> newline_ids, int64_t rows)
    : budget_(budget), think_end_id_(think_end_id), newline_ids_(std::move(newline_ids)),
      rows_(static_cast<size_t>(rows)) {}

std::optional<int32_t> ThinkBudget::override_token(int64_t row, int32_t sampled, std::span<const int32_t>) {
  Row& r = rows_[static_cast<size_t>(row)];
  if (!r.queue.empty()) {
    int32_t t = r.queue.front();
    r.queue.erase(r.queue.begin());
    return t;
  }
  if (r.closed) return std::nullopt;
  if (sampled == think_end_id_) {
    r.closed = true;
    return std::nullopt;
  }
  if (r.reasoning_tokens >= budget_) {
    // Budget spent: close the reasoning here, then a newline, and let the model answer.
    r.closed = true;
    r.queue = newline_ids_;
    return think_end_id_;
  }
  ++r.reasoning_tokens;
  return std::nullopt;
}

std::pair<std::optional<std::string>, int64_t> vote(const std::vector<std::optional<std::string>>& answers) {
  std::map<std::string, int64_t> counts;
  std::vector<std::string> order;
  for (const auto& a : answers) {
    if (!a) continue;
    if (counts[*a]++ == 0) order.push_back(*a);
  }
  std::optional<std::string> best;
  int64_t best_count = 0;
  for (const auto& a : order) {
    if (counts[a] > best_count) {
      best = a;
      best_count = counts[a];
    }
  }
  return {best, best_count};
}

namespace {

std::vector<int32_t> build_prompt(const TextModel& m, const AskOptions& o) {
  if (o.raw) return m.tokenizer.encode(o.question, text::SpecialTokens::processor);
  std::vector<text::Message> messages;
  if (!o.system.empty()) messages.push_back({"system", o.system});
  messages.push_back({"user", o.question});
  // The rendered text holds the BOS already: encode without adding special tokens again.
  return m.tokenizer.encode(text::render_r1(messages, /*add_generation_prompt=*/true, m.bos_text));
}

int64_t count_reasoning_tokens(const std::vector<int32_t>& ids, std::optional<int32_t> think_end) {
  if (!think_end) return 0;
  auto it = std::find(ids.begin(), ids.end(), *think_end);
  return static_cast<int64_t>(it - ids.begin());
}

}  // namespace

AskResult ask(const AskOptions& options, const AskStreams& streams) {
  TextModel model = load_text_model(options.model);
  return ask(model, options, streams);
}

namespace {

void check_options(const TextModel& m, const AskOptions& o) {
  if (o.samples < 1) throw UsageError("--samples must be at least 1");
  if (o.max_tokens < 1) throw UsageError("--max-tokens must be at least 1");
  if (o.batch < 1) throw UsageError("--batch must be at least 1");
  if (o.think_budget >= 0 && !m.think_end_id) {
    throw Error(cat("--think-budget: the tokenizer of ", m.name, " has no </think> token"));
  }
}

AskSample to_sample(const TextModel& m, const AskOptions& o, const engine::SequenceOutput& row, uint64_t seed) {
  AskSample s;
  s.output_ids = row.tokens;
  s.finish_reason = engine::stop_reason_name(row.reason);
  s.seed = seed;
  if (o.raw) {
    s.content = row.text;
  } else {
    text::ReasoningSplit split = text::split_reasoning(row.text);
    s.reasoning = split.reasoning;
    s.content = split.content;
    s.reasoning_tokens = split.finished_reasoning ? count_reasoning_tokens(row.tokens, m.think_end_id)
                                                  : static_cast<int64_t>(row.tokens.size());
  }
  s.final_answer = text::final_answer(s.content);
  return s;
}

// Questions × samples as rows (question-major; row r draws with seed + r), `o.batch` rows per
// generation. Streams only for a single row.
std::vector<AskResult> ask_rows(TextModel& m, const std::vector<std::string>& questions, const AskOptions& o,
                                const AskStreams& streams) {
  check_options(m, o);
  for (const auto& q : questions) {
    if (q.find_first_not_of(" \t\r\n") == std::string::npos) throw UsageError("ask: a question is empty");
  }
  engine::GenerationOptions gen;
  gen.max_new_tokens = o.max_tokens;
  gen.sampling = o.sampling;
  const uint64_t seed = o.seed.value_or(random_seed());
  gen.eos_ids = m.eos_ids;
  gen.stop_strings = o.stop;
  gen.vocab_limit = static_cast<int64_t>(m.tokenizer.vocab_size());

  std::vector<AskResult> results(questions.size());
  std::vector<std::vector<int32_t>> rows;
  for (size_t q = 0; q < questions.size(); ++q) {
    AskOptions one = o;
    one.question = questions[q];
    results[q].model = m.name;
    results[q].prompt_ids = build_prompt(m, one);
    for (int64_t k = 0; k < o.samples; ++k) rows.push_back(results[q].prompt_ids);
  }
  const bool stream = rows.size() == 1 && (streams.reasoning || streams.answer);
  text::ReasoningStream splitter(/*starts_in_reasoning=*/!o.raw);
  auto show = [&](const text::ReasoningStream::Pieces& p) {
    if (!p.reasoning.empty() && streams.reasoning) streams.reasoning(p.reasoning);
    if (!p.answer.empty() && streams.answer) streams.answer(p.answer);
  };
  engine::TokenCallback on_token;
  if (stream) on_token = [&](const engine::TokenEvent& e) { show(splitter.push(e.text)); };

  engine::TextGenerator generator(*m.model, &m.tokenizer);
  for (size_t first = 0; first < rows.size(); first += static_cast<size_t>(o.batch)) {
    const size_t n = std::min(rows.size() - first, static_cast<size_t>(o.batch));
    std::vector<std::vector<int32_t>> chunk(rows.begin() + first, rows.begin() + first + n);
    gen.sampling.seed = seed + first;
    std::optional<ThinkBudget> budget;
    if (o.think_budget >= 0) budget.emplace(o.think_budget, *m.think_end_id, m.tokenizer.encode("\n"), n);
    engine::GenerationResult out = generator.generate(chunk, gen, on_token, budget ? &*budget : nullptr);
    for (size_t i = 0; i < n; ++i) {
      const size_t row = first + i;
      AskResult& r = results[row / static_cast<size_t>(o.samples)];
      r.samples.push_back(to_sample(m, o, out.rows[i], seed + row));
    }
    // Shares of the batch's timings and token counts go to every question it served.
    for (size_t q = first / o.samples; q <= (first + n - 1) / o.samples; ++q) {
      results[q].stats.prefill_seconds += out.stats.prefill_seconds;
      results[q].stats.decode_seconds += out.stats.decode_seconds;
      results[q].stats.prompt_tokens = out.stats.prompt_tokens;
      results[q].stats.generated_tokens = out.stats.generated_tokens;
    }
  }
  if (stream) show(splitter.finish());
  for (auto& r : results) {
    std::vector<std::optional<std::string>> answers;
    for (const auto& s : r.samples) answers.push_back(s.final_answer);
    std::tie(r.final_answer, r.agreement) = vote(answers);
  }
  return results;
}

}  // namespace

AskResult ask(TextModel& m, const AskOptions& o, const AskStreams& streams) {
  if (o.question.empty()) throw UsageError("ask: the question is empty");
  return ask_rows(m, {o.question}, o, streams).front();
}

std::vector<AskResult> ask_batch(const std::vector<std::string>& questions, const AskOptions& options) {
  if (questions.empty()) throw UsageError("ask: no questions");
  TextModel model = load_text_model(options.model);
  return ask_rows(model, questions, options, {});
}

nlohmann::json to_json(const AskResult& r) {
  auto sample_json = [](const AskSample& s) {
    return nlohmann::json{{"output_ids", s.output_ids},
                          {"reasoning_content", s.reasoning},
                          {"content", s.content},
                          {"final_answer", s.final_answer ? nlohmann::json(*s.final_answer) : nlohmann::json(nullptr)},
                          {"finish_reason", s.finish_reason},
                          {"seed", s.seed}};
  };
  nlohmann::json j = r.samples.size() == 1 ? sample_json(r.samples[0]) : nlohmann::json::object();
  j["model"] = r.model;
  j["prompt_ids"] = r.prompt_ids;
  int64_t completion = 0, reasoning = 0;
  for (const auto& s : r.samples) {
    completion += static_cast<int64_t>(s.output_ids.size());
    reasoning += s.reasoning_tokens;
  }
  j["usage"] = {{"prompt_tokens", static_cast<int64_t>(r.prompt_ids.size())},
                {"completion_tokens", completion},
                {"reasoning_tokens", reasoning}};
  j["timings"] = {{"prefill_seconds", r.stats.prefill_seconds},
                  {"decode_seconds", r.stats.decode_seconds},
                  {"prefill_tokens_per_second", r.stats.prefill_tokens_per_second()},
                  {"decode_tokens_per_second", r.stats.decode_tokens_per_second()}};
  if (r.samples.size() > 1) {
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& s : r.samples) samples.push_back(sample_json(s));
    j["samples"] = samples;
    j["final_answer"] = r.final_answer ? nlohmann::json(*r.final_answer) : nlohmann::json(nullptr);
    j["agreement"] = {{"votes", r.agreement}, {"samples", static_cast<int64_t>(r.samples.size())}};
  }
  return j;
}

}  // namespace januskit::pipelines
