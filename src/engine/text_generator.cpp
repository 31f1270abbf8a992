#include "engine/text_generator.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "engine/decode_graph.hpp"
#include "engine/row_tracker.hpp"
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

bool same_chain(const SamplingOptions& a, const SamplingOptions& b) {
  return a.temperature == b.temperature && a.top_k == b.top_k && a.top_p == b.top_p && a.min_p == b.min_p &&
         a.repetition_penalty == b.repetition_penalty && a.presence_penalty == b.presence_penalty &&
         a.frequency_penalty == b.frequency_penalty;
}

// Steps whose tokens the host reads back at once on the fast path: the GPU runs one such chunk ahead
// of the host, so a row that stops costs at most two chunks of extra steps.
constexpr int64_t kReadBackSteps = 8;

}  // namespace

struct TextGenerator::FastState {
  std::unique_ptr<KVCache> owned;  // the bucket's cache (generate()); null for a session's cache
  KVCache* cache = nullptr;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<DecodeGraph> graph;
  SamplingOptions sampling;  // the chain the graph was captured with (the seed aside)
  int64_t vocab_limit = 0;
};

TextGenerator::TextGenerator(LanguageModel& model, const text::Tokenizer* tokenizer)
    : model_(model), tokenizer_(tokenizer) {}

TextGenerator::~TextGenerator() {
  // The fast path's buffers may still be in use by queued device work.
  if (fast_) synchronize(model_.device());
}

bool TextGenerator::use_fast_path(const GenerationOptions& options) const {
  return use_device_loop(options.decode_loop, model_);
}

TextGenerator::FastState& TextGenerator::fast_state(int64_t bucket, int64_t capacity, KVCache* session,
                                                    const GenerationOptions& options) {
  if (fast_) {
    const FastState& f = *fast_;
    const bool same_cache = session != nullptr ? f.cache == session
                                               : f.owned != nullptr && f.cache->batch() == bucket &&
                                                     f.cache->capacity() >= capacity;
    if (same_cache && same_chain(f.sampling, options.sampling) && f.vocab_limit == options.vocab_limit) return *fast_;
    synchronize(model_.device());
    fast_.reset();  // frees the previous bucket before allocating the next
  }
  auto f = std::make_unique<FastState>();
  if (session != nullptr) {
    f->cache = session;
  } else {
    f->owned = std::make_unique<KVCache>(model_.make_cache(bucket, capacity));
    f->cache = f->owned.get();
  }
  const int64_t rows = f->cache->batch();
  f->sampler = std::make_unique<Sampler>(options.sampling, rows, model_.vocab_size(), model_.device());
  DecodeGraph::Spec spec;
  spec.samples = rows;
  spec.embed = [this, rows](const at::Tensor& tokens) { return model_.embed_tokens(tokens.view({rows, 1})); };
  spec.logits = [this](const at::Tensor& hidden) { return model_.lm_logits(hidden); };
  spec.vocab_limit = options.vocab_limit;
  spec.history_steps = f->cache->capacity() + 1;
  f->graph = std::make_unique<DecodeGraph>(model_, *f->cache, *f->sampler, spec);
  f->sampling = options.sampling;
  f->vocab_limit = options.vocab_limit;
  fast_ = std::move(f);
  return *fast_;
}

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
  if (use_fast_path(options)) return generate_fast(prompts, options, on_token, hook, embed);
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
  const bool fast = use_fast_path(options);
  std::optional<DecodeStreamGuard> on_decode_stream;
  if (fast) on_decode_stream.emplace(model_.device());
  cache.truncate(keep);

  GenerationStats stats;
  stats.prompt_tokens = static_cast<int64_t>(prompt.size()) - keep;
  Stopwatch clock;
  at::Tensor hidden_last = prefill(cache, {prompt}, keep);
  synchronize(model_.device());
  stats.prefill_seconds = clock.seconds();

  GenerationOptions bounded = options;
  bounded.max_new_tokens = std::min(options.max_new_tokens, cache.capacity() - static_cast<int64_t>(prompt.size()));
  GenerationResult result =
      fast ? decode_fast(fast_state(1, cache.capacity(), &cache, bounded), hidden_last, {prompt}, 1, cache.capacity(),
                         bounded, on_token, hook, stats)
           : decode(cache, hidden_last, {prompt}, bounded, on_token, hook, stats);
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
  for (int64_t b = 0; b < rows; ++b) {
    sampler.observe_prompt(b, prompts[static_cast<size_t>(std::min<int64_t>(b, prompts.size() - 1))]);
  }
  RowTracker tracker(rows, options, tokenizer_, on_token, hook);

  Stopwatch clock;
  for (int64_t step = 0; tracker.active() > 0; ++step) {
    at::Tensor sampled = sampler.sample(next_logits(hidden_last, options.vocab_limit), step).to(at::kCPU);
    std::vector<int64_t> chosen(sampled.data_ptr<int64_t>(), sampled.data_ptr<int64_t>() + rows);
    tracker.take(chosen);
    at::Tensor next = at::tensor(chosen, at::kLong).to(model_.device());
    sampler.observe(next);
    stats.steps = step + 1;
    if (tracker.active() == 0) break;
    if (cache.length() >= cache.capacity()) {
      tracker.context_full();
      break;
    }
    ForwardBatch batch = cache.plan(1);
    hidden_last = model_.forward(model_.embed_tokens(next.view({rows, 1})), batch, cache).select(1, 0);
    cache.advance(batch);
  }
  synchronize(model_.device());
  stats.decode_seconds = clock.seconds();
  return tracker.finish(stats);
}

GenerationResult TextGenerator::generate_fast(const std::vector<std::vector<int32_t>>& prompts,
                                              const GenerationOptions& options, const TokenCallback& on_token,
                                              TokenHook* hook, const PromptEmbedder& embed) {
  const int64_t rows = static_cast<int64_t>(prompts.size());
  int64_t longest = 0;
  for (const auto& p : prompts) longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  // The stop rules use the capacity the eager path would have; the cache itself is rounded up so that
  // later calls with somewhat longer prompts reuse it (and its captured graph).
  const int64_t capacity = std::min(longest + std::max<int64_t>(options.max_new_tokens, 1), model_.max_positions());
  const int64_t physical = std::min((capacity + 255) / 256 * 256, model_.max_positions());
  // A prompt embedder may count placeholder tokens per row, so its batches are not padded.
  const int64_t bucket = embed ? rows : batch_bucket(rows);

  DecodeStreamGuard on_decode_stream(model_.device());
  FastState& fast = fast_state(bucket, physical, nullptr, options);
  KVCache& cache = *fast.cache;
  cache.truncate(0);

  GenerationStats stats;
  Stopwatch clock;
  at::Tensor hidden_last;
  std::vector<std::vector<int32_t>> padded = prompts;
  const bool shared_prompt =
      rows > 1 && std::all_of(prompts.begin(), prompts.end(), [&](const auto& p) { return p == prompts[0]; });
  if (shared_prompt) {
    padded.resize(static_cast<size_t>(bucket), prompts[0]);
    KVCache single = model_.make_cache(1, longest);
    hidden_last = prefill(single, {prompts[0]}, 0, embed).expand({bucket, -1}).contiguous();
    cache.fill_rows_from(single, 0);
    stats.prompt_tokens = longest;
  } else {
    // Padding rows hold a single token; their outputs are dropped.
    padded.resize(static_cast<size_t>(bucket), std::vector<int32_t>{0});
    std::vector<int64_t> starts;
    for (size_t b = 0; b < padded.size(); ++b) {
      starts.push_back(longest - static_cast<int64_t>(padded[b].size()));
      if (static_cast<int64_t>(b) < rows) stats.prompt_tokens += static_cast<int64_t>(padded[b].size());
    }
    cache.set_row_starts(starts);
    hidden_last = prefill(cache, padded, 0, embed);
  }
  synchronize(model_.device());
  stats.prefill_seconds = clock.seconds();
  return decode_fast(fast, hidden_last, padded, rows, capacity, options, on_token, hook, stats);
}

GenerationResult TextGenerator::decode_fast(FastState& fast, const at::Tensor& hidden_last,
                                            const std::vector<std::vector<int32_t>>& prompts, int64_t rows,
                                            int64_t capacity, const GenerationOptions& options,
                                            const TokenCallback& on_token, TokenHook* hook, GenerationStats stats) {
  if (!options.stop_strings.empty() && tokenizer_ == nullptr) {
    throw Error("stop strings need the model's tokenizer");
  }
  KVCache& cache = *fast.cache;
  Sampler& sampler = *fast.sampler;
  DecodeGraph& graph = *fast.graph;
  const int64_t bucket = cache.batch();
  sampler.reset();
  std::vector<uint64_t> seeds;
  for (int64_t b = 0; b < bucket; ++b) seeds.push_back(options.sampling.seed + static_cast<uint64_t>(b));
  sampler.set_row_seeds(seeds);
  for (int64_t b = 0; b < bucket; ++b) {
    sampler.observe_prompt(b, prompts[static_cast<size_t>(std::min<int64_t>(b, prompts.size() - 1))]);
  }
  RowTracker tracker(rows, options, tokenizer_, on_token, hook);

  Stopwatch clock;
  const int64_t prompt_end = cache.length();
  // Sample s (0-based) is taken with the cache at prompt_end + s slots; the eager loop stops at the
  // budget or when the cache is full.
  const int64_t samples = std::min(std::max<int64_t>(options.max_new_tokens, 0), capacity - prompt_end + 1);
  if (tracker.active() > 0 && samples > 0) {
    // A hook may replace a token, which must reach the device before the next step: no run-ahead then.
    const int64_t chunk = hook != nullptr ? 1 : kReadBackSteps;
    const int64_t chunks = (samples + chunk - 1) / chunk;
    auto enqueue = [&](int64_t c) {
      const int64_t from = c * chunk, to = std::min(from + chunk, samples);
      for (int64_t s = from; s < to; ++s) {
        if (s == 0) {
          graph.start(hidden_last);
        } else {
          graph.step();
        }
      }
      graph.fetch_history(from, to, static_cast<int>(c % 2));
    };
    enqueue(0);
    for (int64_t c = 0; c < chunks; ++c) {
      if (hook == nullptr && c + 1 < chunks) enqueue(c + 1);  // the GPU works on the next chunk meanwhile
      at::Tensor got = graph.wait_history(static_cast<int>(c % 2));  // [steps in chunk, bucket] on the CPU
      auto acc = got.accessor<int64_t, 2>();
      bool stop = false;
      for (int64_t i = 0; i < got.size(0) && !stop; ++i) {
        const int64_t s = c * chunk + i;
        std::vector<int64_t> chosen(static_cast<size_t>(rows));
        for (int64_t b = 0; b < rows; ++b) chosen[static_cast<size_t>(b)] = acc[i][b];
        if (tracker.take(chosen)) {
          graph.tokens().narrow(0, 0, rows).copy_(at::tensor(chosen, at::kLong));
        }
        stats.steps = s + 1;
        if (tracker.active() == 0) {
          stop = true;
        } else if (prompt_end + s >= capacity) {
          tracker.context_full();
          stop = true;
        }
      }
      if (stop) break;
      if (hook != nullptr && c + 1 < chunks) enqueue(c + 1);
    }
    synchronize(model_.device());  // steps queued past the stop finish before the cache is reused
    cache.mark_written(stats.steps - 1);
  }
  stats.decode_seconds = clock.seconds();
  return tracker.finish(stats);
}

}  // namespace januskit::engine
