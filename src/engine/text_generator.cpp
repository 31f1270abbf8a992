#include "engine/text_generator.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "engine/stop_strings.hpp"
#include "text/tokenizer.hpp"

namespace januskit::engine {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::none: return "none";
    case StopReason::eos: return "eos";
    case StopReason::stop_string: return "stop_string";
    case StopReason::max_tokens: return "length";
    case StopReason::context_full: return "context_full";
  }
  return "none";
}

namespace {

// Per-row bookkeeping of the decode loop.
struct RowState {
  SequenceOutput out;
  bool active = true;
  std::optional<text::StreamingDecoder> decoder;
  std::optional<StopStringFilter> filter;
};

at::Tensor ids_tensor(const std::vector<std::vector<int32_t>>& rows, int64_t from, int64_t width) {
  // Left-aligned: row b's tokens end at the last column; earlier columns hold id 0 (masked).
  at::Tensor ids = at::zeros({static_cast<int64_t>(rows.size()), width}, at::kLong);
  auto acc = ids.accessor<int64_t, 2>();
  for (size_t b = 0; b < rows.size(); ++b) {
    const int64_t n = static_cast<int64_t>(rows[b].size()) - from;
    for (int64_t t = 0; t < n; ++t) acc[b][width - n + t] = rows[b][from + t];
  }
  return ids;
}

void check_prompts(const std::vector<std::vector<int32_t>>& prompts, int64_t vocab) {
  if (prompts.empty()) throw Error("generation needs at least one prompt");
  for (const auto& p : prompts) {
    if (p.empty()) throw Error("empty prompt: there is no token to continue from");
    for (int32_t id : p) {
      if (id < 0 || id >= vocab) throw Error(cat("prompt token id ", id, " is outside the model's vocabulary of ", vocab));
    }
  }
}

}  // namespace

TextGenerator::TextGenerator(LanguageModel& model, const text::Tokenizer* tokenizer)
    : model_(model), tokenizer_(tokenizer) {}

at::Tensor TextGenerator::prefill(KVCache& cache, const std::vector<std::vector<int32_t>>& prompts, int64_t from,
                                  const PromptEmbedder& embed) {
  int64_t width = 0;
  for (const auto& p : prompts) width = std::max<int64_t>(width, static_cast<int64_t>(p.size()) - from);
  at::Tensor ids = ids_tensor(prompts, from, width).to(model_.device());
  ForwardBatch batch = cache.plan(width);
  at::Tensor hidden = model_.forward(embed ? embed(ids) : model_.embed_tokens(ids), batch, cache);
  cache.advance(batch);
  return hidden.select(1, width - 1);
}

at::Tensor TextGenerator::next_logits(const at::Tensor& hidden_last, int64_t vocab_limit) {
  at::Tensor logits = model_.lm_logits(hidden_last);
  if (vocab_limit > 0 && vocab_limit < logits.size(-1)) {
    logits.narrow(-1, vocab_limit, logits.size(-1) - vocab_limit).fill_(-std::numeric_limits<float>::infinity());
  }
  return logits;
}

GenerationResult TextGenerator::generate(const std::vector<std::vector<int32_t>>& prompts,
                                         const GenerationOptions& options, const TokenCallback& on_token,
                                         TokenHook* hook, const PromptEmbedder& embed) {
  check_prompts(prompts, model_.vocab_size());
  const int64_t rows = static_cast<int64_t>(prompts.size());
  int64_t longest = 0;
  for (const auto& p : prompts) longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  if (longest >= model_.max_positions()) {
    throw Error(cat("the prompt is ", longest, " tokens but the model's context is ", model_.max_positions(),
                    " (max_position_embeddings in config.json); shorten the prompt"));
  }
  const int64_t capacity = std::min(longest + std::max<int64_t>(options.max_new_tokens, 1), model_.max_positions());

  GenerationStats stats;
  Stopwatch clock;
  KVCache cache = model_.make_cache(rows, capacity);
  at::Tensor hidden_last;
  const bool shared_prompt =
      rows > 1 && std::all_of(prompts.begin(), prompts.end(), [&](const auto& p) { return p == prompts[0]; });
  if (shared_prompt) {
    // One prefill for all samples of the same prompt.
    KVCache single = model_.make_cache(1, longest);
    hidden_last = prefill(single, {prompts[0]}, 0, embed).expand({rows, -1}).contiguous();
    cache.fill_rows_from(single, 0);
    stats.prompt_tokens = longest;
  } else {
    std::vector<int64_t> starts;
    for (const auto& p : prompts) {
      starts.push_back(longest - static_cast<int64_t>(p.size()));
      stats.prompt_tokens += static_cast<int64_t>(p.size());
    }
    cache.set_row_starts(starts);
    hidden_last = prefill(cache, prompts, 0, embed);
  }
  synchronize(model_.device());
  stats.prefill_seconds = clock.seconds();
  return decode(cache, hidden_last, prompts, options, on_token, hook, stats);
}

GenerationResult TextGenerator::continue_session(KVCache& cache, std::vector<int32_t>& cached,
                                                 const std::vector<int32_t>& prompt, const GenerationOptions& options,
                                                 const TokenCallback& on_token, TokenHook* hook) {
  check_prompts({prompt}, model_.vocab_size());
  if (cache.batch() != 1) throw Error("a session cache holds exactly one row");
  if (static_cast<int64_t>(prompt.size()) >= cache.capacity()) {
    throw Error(cat("the conversation is ", prompt.size(), " tokens, the session's context is ", cache.capacity(),
                    "; start a new session"));
  }
  // Keep the common prefix; at least one prompt token must be recomputed to get fresh logits.
  const int64_t valid = std::min<int64_t>(cache.length(), static_cast<int64_t>(cached.size()));
  int64_t keep = 0;
  while (keep < valid && keep < static_cast<int64_t>(prompt.size()) - 1 && cached[keep] == prompt[keep]) ++keep;
  cache.truncate(keep);

  GenerationStats stats;
  stats.prompt_tokens = static_cast<int64_t>(prompt.size()) - keep;
  Stopwatch clock;
  at::Tensor hidden_last = prefill(cache, {prompt}, keep);
  synchronize(model_.device());
  stats.prefill_seconds = clock.seconds();

  GenerationOptions bounded = options;
  bounded.max_new_tokens = std::min(options.max_new_tokens, cache.capacity() - static_cast<int64_t>(prompt.size()));
  GenerationResult result = decode(cache, hidden_last, {prompt}, bounded, on_token, hook, stats);
  // The cache holds the prompt and every output token but the last (sampled, never fed back).
  cached = prompt;
  cached.insert(cached.end(), result.rows[0].tokens.begin(), result.rows[0].tokens.end());
  cached.resize(static_cast<size_t>(std::min<int64_t>(cache.length(), static_cast<int64_t>(cached.size()))));
  return result;
}

GenerationResult TextGenerator::decode(KVCache& cache, at::Tensor hidden_last,
                                       const std::vector<std::vector<int32_t>>& prompts,
                                       const GenerationOptions& options, const TokenCallback& on_token,
                                       TokenHook* hook, GenerationStats stats) {
  const int64_t rows = cache.batch();
  if (!options.stop_strings.empty() && tokenizer_ == nullptr) {
    throw Error("stop strings need the model's tokenizer");
  }
  Sampler sampler(options.sampling, rows, model_.vocab_size(), model_.device());
  std::vector<RowState> state(static_cast<size_t>(rows));
  for (int64_t b = 0; b < rows; ++b) {
    sampler.observe_prompt(b, prompts[static_cast<size_t>(std::min<int64_t>(b, prompts.size() - 1))]);
    if (tokenizer_ != nullptr) {
      state[b].decoder.emplace(*tokenizer_, options.skip_special_in_text);
      state[b].filter.emplace(options.stop_strings);
    }
  }
  auto is_eos = [&](int32_t t) {
    return std::find(options.eos_ids.begin(), options.eos_ids.end(), t) != options.eos_ids.end();
  };

  Stopwatch clock;
  const int64_t budget = std::max<int64_t>(options.max_new_tokens, 0);
  int64_t active = budget > 0 ? rows : 0;
  if (active == 0) {
    for (auto& s : state) s.out.reason = StopReason::max_tokens;
  }
  for (int64_t step = 0; active > 0; ++step) {
    at::Tensor sampled = sampler.sample(next_logits(hidden_last, options.vocab_limit), step).to(at::kCPU);
    std::vector<int64_t> chosen(sampled.data_ptr<int64_t>(), sampled.data_ptr<int64_t>() + rows);
    for (int64_t b = 0; b < rows; ++b) {
      RowState& s = state[b];
      if (!s.active) continue;
      auto token = static_cast<int32_t>(chosen[b]);
      bool forced = false;
      if (hook != nullptr) {
        if (auto replacement = hook->override_token(b, token, s.out.tokens)) {
          forced = *replacement != token;
          token = *replacement;
        }
      }
      chosen[b] = token;
      s.out.tokens.push_back(token);
      TokenEvent event{b, token, {}, forced, static_cast<int64_t>(s.out.tokens.size()) - 1};
      // EOS ends the row without becoming text; every other token (specials such as </think> too,
      // unless skip_special_in_text) is decoded.
      if (s.decoder && !is_eos(token)) event.text = s.filter->push(s.decoder->push(token));
      if (is_eos(token)) {
        s.out.reason = StopReason::eos;
      } else if (s.filter && s.filter->stopped()) {
        s.out.reason = StopReason::stop_string;
      } else if (static_cast<int64_t>(s.out.tokens.size()) >= budget) {
        s.out.reason = StopReason::max_tokens;
      }
      if (s.out.reason != StopReason::none) {
        s.active = false;
        --active;
        if (s.decoder && s.out.reason != StopReason::stop_string) event.text += s.filter->push(s.decoder->finish()) + s.filter->flush();
      }
      if (on_token) on_token(event);
    }
    at::Tensor next = at::tensor(chosen, at::kLong).to(model_.device());
    sampler.observe(next);
    stats.steps = step + 1;
    if (active == 0) break;
    if (cache.length() >= cache.capacity()) {
      for (auto& s : state) {
        if (s.active) s.out.reason = StopReason::context_full;
      }
      break;
    }
    ForwardBatch batch = cache.plan(1);
    hidden_last = model_.forward(model_.embed_tokens(next.view({rows, 1})), batch, cache).select(1, 0);
    cache.advance(batch);
  }
  synchronize(model_.device());
  stats.decode_seconds = clock.seconds();

  GenerationResult result;
  result.rows.reserve(state.size());
  for (auto& s : state) {
    if (s.filter && s.out.reason == StopReason::context_full) {
      s.filter->push(s.decoder->finish());
      s.filter->flush();
    }
    if (s.filter) s.out.text = s.filter->text();
    stats.generated_tokens += static_cast<int64_t>(s.out.tokens.size());
    result.rows.push_back(std::move(s.out));
  }
  result.stats = stats;
  return result;
}

}  // namespace januskit::engine
