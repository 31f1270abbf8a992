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
  if (o.raw) return m.tokenizer.encode(o.question, /*add_special_tokens=*/true);
  std::vector<text::Message> messages;
  if (!o.system.empty()) messages.push_back({"system", o.system});
  messages.push_back({"user", o.question});
  // The rendered text holds the BOS already: encode without adding special tokens again.
  return m.tokenizer.encode(text::render_r1(messages, /*add_generation_prompt=*/true, m.bos_text), false);
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

AskResult ask(TextModel& m, const AskOptions& o, const AskStreams& streams) {
  if (o.question.empty()) throw UsageError("ask: the question is empty");
  if (o.samples < 1) throw UsageError("--samples must be at least 1");
  if (o.max_tokens < 1) throw UsageError("--max-tokens must be at least 1");
  if (o.think_budget >= 0 && !m.think_end_id) {
    throw Error(cat("--think-budget: the tokenizer of ", m.name, " has no </think> token"));
  }
  AskResult result;
  result.model = m.name;
  result.prompt_ids = build_prompt(m, o);

  engine::GenerationOptions gen;
  gen.max_new_tokens = o.max_tokens;
  gen.sampling = o.sampling;
  gen.sampling.seed = o.seed.value_or(random_seed());
  gen.eos_ids = m.eos_ids;
  gen.vocab_limit = static_cast<int64_t>(m.tokenizer.vocab_size());

  std::optional<ThinkBudget> budget;
  if (o.think_budget >= 0) budget.emplace(o.think_budget, *m.think_end_id, m.tokenizer.encode("\n"), o.samples);

  text::ReasoningStream splitter(/*starts_in_reasoning=*/!o.raw);
  auto show = [&](const text::ReasoningStream::Pieces& p) {
    if (!p.reasoning.empty() && streams.reasoning) streams.reasoning(p.reasoning);
    if (!p.answer.empty() && streams.answer) streams.answer(p.answer);
  };
  engine::TokenCallback on_token;
  if (o.samples == 1 && (streams.reasoning || streams.answer)) {
    on_token = [&](const engine::TokenEvent& e) { show(splitter.push(e.text)); };
  }

  engine::TextGenerator generator(*m.model, &m.tokenizer);
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(o.samples), result.prompt_ids);
  engine::GenerationResult out = generator.generate(prompts, gen, on_token, budget ? &*budget : nullptr);
  if (on_token) show(splitter.finish());

  std::vector<std::optional<std::string>> answers;
  for (size_t i = 0; i < out.rows.size(); ++i) {
    auto& row = out.rows[i];
    AskSample s;
    s.output_ids = row.tokens;
    s.finish_reason = engine::stop_reason_name(row.reason);
    s.seed = gen.sampling.seed + i;
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
    answers.push_back(s.final_answer);
    result.samples.push_back(std::move(s));
  }
  std::tie(result.final_answer, result.agreement) = vote(answers);
  result.stats = out.stats;
  return result;
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
