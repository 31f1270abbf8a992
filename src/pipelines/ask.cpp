#include "pipelines/ask.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "text/chat.hpp"
#include "text/chat_format.hpp"
#include "text/reasoning.hpp"
#include "text/reasoning_stream.hpp"

namespace januskit::pipelines {

engine::SamplingOptions AskOptions::default_r1_sampling() {
  engine::SamplingOptions s;
  s.temperature = 0.6;
  s.top_p = 0.95;
  return s;
}

ThinkBudget::ThinkBudget(int64_t budget, ThinkBudgetTokens tokens, int64_t rows)
    : budget_(budget), tokens_(std::move(tokens)), rows_(static_cast<size_t>(rows)) {
  for (Row& r : rows_) r.opened = tokens_.start == text::ReasoningStart::inside;
}

ThinkBudget::ThinkBudget(int64_t budget, int32_t think_end_id, std::vector<int32_t> after_close, int64_t rows)
    : ThinkBudget(budget, [&] {
        ThinkBudgetTokens t;
        t.close_id = think_end_id;
        t.close_ids = {think_end_id};
        t.close_ids.insert(t.close_ids.end(), after_close.begin(), after_close.end());
        return t;
      }(), rows) {}

std::optional<int32_t> ThinkBudget::force(Row& r, const std::vector<int32_t>& ids) {
  r.closed = true;
  r.queue.assign(ids.begin() + 1, ids.end());
  return ids.front();
}

std::optional<int32_t> ThinkBudget::override_token(int64_t row, int32_t sampled, std::span<const int32_t>) {
  Row& r = rows_[static_cast<size_t>(row)];
  if (!r.queue.empty()) {
    int32_t t = r.queue.front();
    r.queue.erase(r.queue.begin());
    return t;
  }
  if (r.closed) return std::nullopt;
  if (!r.opened) {
    // The model's first token decides: its own "<think>" opens the block (not counted); anything
    // else is an answer without reasoning. Budget 0 asks for no reasoning at all.
    if (budget_ == 0 && !tokens_.empty_block.empty()) return force(r, tokens_.empty_block);
    r.opened = tokens_.open_id && sampled == *tokens_.open_id;
    r.closed = !r.opened;
    return std::nullopt;
  }
  if (sampled == tokens_.close_id) {
    r.closed = true;
    return std::nullopt;
  }
  // Budget spent: close the reasoning here and let the model answer.
  if (r.reasoning_tokens >= budget_) return force(r, tokens_.close_ids);
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

PreparedPrompt prepare_prompt(const TextModel& m, const std::optional<text::ChatFormat>& format, bool thinking,
                              const std::vector<text::Message>& conversation) {
  if (conversation.empty()) throw UsageError("the conversation has no messages");
  if (!format) return {m.tokenizer.encode(conversation.back().content, text::SpecialTokens::processor)};
  text::RenderedChat r = text::render_chat(conversation, {*format, thinking, m.bos_text});
  // The rendered text holds the BOS already: encode without adding special tokens again.
  return {m.tokenizer.encode(r.text), r.thinking, r.start};
}

namespace {

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

void check_options(const AskOptions& o) {
  if (o.samples < 1) throw UsageError("--samples must be at least 1");
  if (o.max_tokens < 1) throw UsageError("--max-tokens must be at least 1");
  if (o.batch < 1) throw UsageError("--batch must be at least 1");
  if (o.raw && !o.messages.empty()) throw UsageError("--raw takes a question, not --messages");
  if (o.raw && o.chat_format != "auto") throw UsageError("--raw uses no chat format; drop --chat-format");
}

// The budget hook's tokens for a format; Error when the tokenizer lacks what it needs.
ThinkBudgetTokens budget_tokens(const TextModel& m, text::ReasoningStart start) {
  if (!m.think_end_id || (start == text::ReasoningStart::may_open && !m.think_open_id)) {
    throw Error(cat("--think-budget: the tokenizer of ", m.name, " has no single-token <think>/</think>"));
  }
  ThinkBudgetTokens t;
  t.start = start;
  t.open_id = m.think_open_id;
  t.close_id = *m.think_end_id;
  t.close_ids = m.tokenizer.encode(text::kThinkCloseText);
  if (start == text::ReasoningStart::may_open) t.empty_block = m.tokenizer.encode(text::kEmptyThinkBlock);
  return t;
}

}  // namespace

AskSample make_sample(const TextModel& m, const PreparedPrompt& prompt, const engine::SequenceOutput& row, uint64_t seed) {
  AskSample s;
  s.output_ids = row.tokens;
  s.finish_reason = engine::stop_reason_name(row.reason);
  s.seed = seed;
  text::ReasoningSplit split = text::split_reasoning(row.text, prompt.start);
  s.reasoning = split.reasoning;
  s.content = split.content;
  if (split.had_reasoning) {
    s.reasoning_tokens = split.finished_reasoning ? count_reasoning_tokens(row.tokens, m.think_end_id)
                                                  : static_cast<int64_t>(row.tokens.size());
  }
  s.final_answer = text::final_answer(s.content);
  return s;
}

std::unique_ptr<ThinkBudget> think_budget_for(const TextModel& m, const PreparedPrompt& p, int64_t budget, int64_t rows) {
  if (budget < 0 || !p.thinking || p.start == text::ReasoningStart::none) return nullptr;
  return std::make_unique<ThinkBudget>(budget, budget_tokens(m, p.start), rows);
}

namespace {

// Conversations × samples as rows (conversation-major; row r draws with seed + r), `o.batch` rows
// per generation. Streams only for a single row.
std::vector<AskResult> ask_rows(TextModel& m, const std::vector<std::vector<text::Message>>& conversations,
                                const AskOptions& o, const AskStreams& streams) {
  check_options(o);
  std::optional<text::ChatFormat> format;
  std::string format_name = "raw";
  if (!o.raw) {
    text::DetectedFormat detected = choose_chat_format(m, o.chat_format);
    format = detected.format;
    format_name = std::string(text::chat_format_name(detected.format));
    log::debug("chat format ", format_name, ": ", detected.reason);
  }
  engine::GenerationOptions gen;
  gen.max_new_tokens = o.max_tokens;
  gen.sampling = o.folder_sampling ? with_folder_sampling(m, o.sampling, *o.folder_sampling) : o.sampling;
  log::debug("sampling: temperature ", gen.sampling.temperature, ", top_p ", gen.sampling.top_p, ", top_k ",
             gen.sampling.top_k, ", min_p ", gen.sampling.min_p, o.folder_sampling ? " (generation_config.json, then flags)" : "");
  const uint64_t seed = o.seed.value_or(random_seed());
  gen.eos_ids = stop_ids(m, format);
  gen.stop_strings = o.stop;
  gen.vocab_limit = static_cast<int64_t>(m.tokenizer.vocab_size());

  std::vector<AskResult> results(conversations.size());
  std::vector<PreparedPrompt> prompts;
  std::vector<std::vector<int32_t>> rows;
  for (size_t q = 0; q < conversations.size(); ++q) {
    PreparedPrompt prompt = prepare_prompt(m, format, o.thinking, conversations[q]);
    results[q].model = m.name;
    results[q].chat_format = format_name;
    results[q].thinking = prompt.thinking;
    results[q].prompt_ids = prompt.ids;
    for (int64_t k = 0; k < o.samples; ++k) {
      rows.push_back(prompt.ids);
      prompts.push_back(prompt);
    }
  }
  // One budget hook serves a chunk: every row of a run has the same format and thinking switch
  // except for Qwen3's /no_think, so rows without thinking get no budget (nothing to close).
  const bool stream = rows.size() == 1 && (streams.reasoning || streams.answer);
  text::ReasoningStream splitter(prompts.front().start);
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
    std::unique_ptr<ThinkBudget> budget = format ? think_budget_for(m, prompts[first], o.think_budget, n) : nullptr;
    engine::GenerationResult out = generator.generate(chunk, gen, on_token, budget.get());
    for (size_t i = 0; i < n; ++i) {
      const size_t row = first + i;
      AskResult& r = results[row / static_cast<size_t>(o.samples)];
      r.samples.push_back(make_sample(m, prompts[row], out.rows[i], seed + row));
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

std::vector<text::Message> question_conversation(const AskOptions& o, const std::string& question) {
  if (question.find_first_not_of(" \t\r\n") == std::string::npos) throw UsageError("ask: a question is empty");
  std::vector<text::Message> c;
  if (!o.system.empty()) c.push_back({"system", o.system});
  c.push_back({"user", question});
  return c;
}

}  // namespace

AskResult ask(TextModel& m, const AskOptions& o, const AskStreams& streams) {
  if (!o.messages.empty()) {
    if (!o.question.empty() || !o.system.empty()) throw UsageError("ask: --messages holds the whole conversation; drop the question and --system");
    return ask_rows(m, {o.messages}, o, streams).front();
  }
  if (o.question.empty()) throw UsageError("ask: the question is empty");
  return ask_rows(m, {question_conversation(o, o.question)}, o, streams).front();
}

std::vector<AskResult> ask_batch(const std::vector<std::string>& questions, const AskOptions& options) {
  if (questions.empty()) throw UsageError("ask: no questions");
  std::vector<std::vector<text::Message>> conversations;
  for (const auto& q : questions) conversations.push_back(question_conversation(options, q));
  TextModel model = load_text_model(options.model);
  return ask_rows(model, conversations, options, {});
}

nlohmann::json to_json(const AskResult& r) {
  auto sample_json = [](const AskSample& s) {
    return nlohmann::json{{"output_ids", s.output_ids},
                          {"reasoning_content", s.reasoning},
                          {"reasoning", s.reasoning},
                          {"content", s.content},
                          {"final_answer", s.final_answer ? nlohmann::json(*s.final_answer) : nlohmann::json(nullptr)},
                          {"finish_reason", s.finish_reason},
                          {"seed", s.seed}};
  };
  nlohmann::json j = r.samples.size() == 1 ? sample_json(r.samples[0]) : nlohmann::json::object();
  j["model"] = r.model;
  j["chat_format"] = r.chat_format;
  j["thinking"] = r.thinking;
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
