#include "engine/image_generator.hpp"

#include <ATen/ATen.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "engine/decode_graph.hpp"

namespace januskit::engine {

namespace {

// Steps per progress report on the fast path; the GPU stays one chunk ahead of the host.
constexpr int64_t kProgressSteps = 16;

// The fast path's cache slots: rounded up to 256 so that nearby prompt lengths share a captured graph.
int64_t fast_capacity(int64_t longest, int64_t steps, int64_t max_positions) {
  return std::min((longest + steps + 255) / 256 * 256, max_positions);
}

// The ids of image i's rows, in batch order: (cond, uncond), or (cond, cond, uncond) with a partial
// condition; and the runs each row's embeddings take from the request.
std::vector<const std::vector<int32_t>*> row_ids(const ImageRequest& im) {
  if (im.partial_runs) return {&im.cond_ids, &im.cond_ids, &im.uncond_ids};
  return {&im.cond_ids, &im.uncond_ids};
}

std::vector<const std::vector<EmbeddingRun>*> row_runs(const ImageRequest& im) {
  static const std::vector<EmbeddingRun> none;
  if (im.partial_runs) return {&im.cond_runs, &*im.partial_runs, &none};
  return {&im.cond_runs, &none};
}

// `rows` rows per image, left-aligned to `longest`; images past the requests (padding up to the batch
// bucket) get a single token. Returns the ids and the row starts.
std::pair<at::Tensor, std::vector<int64_t>> prompt_rows(const std::vector<ImageRequest>& images, int64_t count,
                                                        int64_t rows, int64_t longest) {
  at::Tensor ids = at::zeros({rows * count, longest}, at::kLong);
  std::vector<int64_t> starts;
  auto acc = ids.accessor<int64_t, 2>();
  for (int64_t i = 0; i < count; ++i) {
    if (i >= static_cast<int64_t>(images.size())) {
      starts.insert(starts.end(), static_cast<size_t>(rows), longest - 1);
      continue;
    }
    const auto per_row = row_ids(images[static_cast<size_t>(i)]);
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<int32_t>& row = *per_row[static_cast<size_t>(r)];
      const int64_t len = static_cast<int64_t>(row.size()), start = longest - len;
      for (int64_t t = 0; t < len; ++t) acc[rows * i + r][start + t] = row[static_cast<size_t>(t)];
      starts.push_back(start);
    }
  }
  return {ids, starts};
}

// The rows' token embeddings with every request's runs written over their positions.
at::Tensor prompt_embeddings(LanguageModel& lm, const std::vector<ImageRequest>& images, const at::Tensor& ids,
                             int64_t rows, const std::vector<int64_t>& starts) {
  at::Tensor embeds = lm.embed_tokens(ids.to(lm.device()));
  for (size_t i = 0; i < images.size(); ++i) {
    const auto per_row = row_runs(images[i]);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t row = rows * static_cast<int64_t>(i) + r;
      for (const EmbeddingRun& run : *per_row[static_cast<size_t>(r)]) {
        const int64_t length = run.embeds.size(0);
        embeds.select(0, row).narrow(0, starts[static_cast<size_t>(row)] + run.position, length).copy_(run.embeds);
      }
    }
  }
  return embeds;
}

// Prefills the prompt rows of `count` images (see prompt_rows) into the empty `cache` and returns
// the hidden state of every row's last prompt token, [rows * count, hidden]; waits for the device so
// the caller's clock measures the prefill.
at::Tensor prefill(LanguageModel& lm, const std::vector<ImageRequest>& images, int64_t count, int64_t rows,
                   int64_t longest, KVCache& cache) {
  auto [ids, starts] = prompt_rows(images, count, rows, longest);
  cache.set_row_starts(starts);
  ForwardBatch batch = cache.plan(longest);
  at::Tensor hidden = lm.forward(prompt_embeddings(lm, images, ids, rows, starts), batch, cache).select(1, longest - 1);
  cache.advance(batch);
  synchronize(lm.device());
  return hidden;
}

// A request's rows and runs checked against each other and the model's width.
void check_request(const ImageRequest& im, int64_t rows, int64_t hidden) {
  if (im.cond_ids.empty() || im.cond_ids.size() != im.uncond_ids.size()) {
    throw Error("image prompt: conditional and unconditional rows must be non-empty and of equal length");
  }
  if (im.rows() != rows) throw Error("image generation: a batch mixes images with and without an input picture");
  for (const auto* runs : row_runs(im)) {
    for (const EmbeddingRun& run : *runs) {
      if (run.embeds.dim() != 2 || run.embeds.size(1) != hidden || run.position < 0 ||
          run.position + run.embeds.size(0) > static_cast<int64_t>(im.cond_ids.size())) {
        throw Error(cat("image prompt: embeddings for positions ", run.position, "+", run.embeds.size(0),
                        " do not fit a prompt of ", im.cond_ids.size(), " tokens and width ", hidden));
      }
    }
  }
}

}  // namespace

struct ImageGenerator::FastState {
  std::unique_ptr<KVCache> cache;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<DecodeGraph> graph;
  ImageGenerationOptions options;  // what the graph was captured with
};

ImageGenerator::ImageGenerator(ImageTokenModel& model) : model_(model) {}

ImageGenerator::~ImageGenerator() {
  // The fast path's buffers may still be in use by queued device work.
  if (fast_) synchronize(model_.language_model().device());
}

ImageGenerator::FastState& ImageGenerator::fast_state(int64_t bucket, int64_t capacity,
                                                      const ImageGenerationOptions& options) {
  LanguageModel& lm = model_.language_model();
  if (fast_) {
    const FastState& f = *fast_;
    const ImageGenerationOptions& o = f.options;
    if (f.sampler != nullptr && f.cache->batch() == 2 * bucket && f.cache->capacity() >= capacity &&
        o.cfg_weight == options.cfg_weight && o.temperature == options.temperature && o.top_k == options.top_k &&
        o.top_p == options.top_p) {
      return *fast_;
    }
    synchronize(lm.device());
    fast_.reset();  // frees the previous bucket before allocating the next
  }
  auto f = std::make_unique<FastState>();
  f->cache = std::make_unique<KVCache>(lm.make_cache(2 * bucket, capacity));
  SamplingOptions sampling;
  sampling.temperature = options.temperature;
  sampling.top_k = options.top_k;
  sampling.top_p = options.top_p;
  f->sampler = std::make_unique<Sampler>(sampling, bucket, model_.image_vocab_size(), lm.device());
  DecodeGraph::Spec spec;
  spec.samples = bucket;
  spec.embed = [this, bucket](const at::Tensor& tokens) {
    // Each image's token feeds both of its rows: t0, t0, t1, t1, ...
    return model_.embed_image_tokens(tokens.unsqueeze(1).expand({bucket, 2}).reshape({2 * bucket, 1}));
  };
  spec.logits = [this](const at::Tensor& hidden) { return model_.image_logits(hidden); };
  spec.cfg = std::make_pair(options.cfg_weight, CfgLayout::interleaved);
  spec.history_steps = model_.tokens_per_image();
  f->graph = std::make_unique<DecodeGraph>(lm, *f->cache, *f->sampler, spec);
  f->options = options;
  fast_ = std::move(f);
  return *fast_;
}

ImageGenerationResult ImageGenerator::generate_fast(const std::vector<ImageRequest>& images, int64_t longest,
                                                    const ImageGenerationOptions& options,
                                                    const StepCallback& on_step) {
  LanguageModel& lm = model_.language_model();
  const int64_t n = static_cast<int64_t>(images.size()), bucket = batch_bucket(n);
  const int64_t steps = model_.tokens_per_image();
  const int64_t capacity = fast_capacity(longest, steps, lm.max_positions());

  DecodeStreamGuard on_decode_stream(lm.device());
  FastState& fast = fast_state(bucket, capacity, options);
  KVCache& cache = *fast.cache;
  cache.truncate(0);

  Stopwatch clock;
  at::Tensor hidden = prefill(lm, images, bucket, 2, longest, cache);
  ImageGenerationResult result;
  result.prefill_seconds = clock.seconds();

  clock.restart();
  fast.sampler->reset();
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < bucket; ++i) seeds.push_back(i < n ? images[static_cast<size_t>(i)].seed : 0);
  fast.sampler->set_row_seeds(seeds);
  DecodeGraph& graph = *fast.graph;
  const int64_t chunks = (steps + kProgressSteps - 1) / kProgressSteps;
  auto enqueue = [&](int64_t c) {
    const int64_t from = c * kProgressSteps, to = std::min(from + kProgressSteps, steps);
    for (int64_t s = from; s < to; ++s) {
      if (s == 0) {
        graph.start(hidden);
      } else {
        graph.step();  // the embedding after the last token would be unused: steps − 1 of these
      }
    }
    graph.fetch_history(from, to, static_cast<int>(c % 2));  // tells the host when the chunk is done
  };
  enqueue(0);
  for (int64_t c = 0; c < chunks; ++c) {
    if (c + 1 < chunks) enqueue(c + 1);
    graph.wait_history(static_cast<int>(c % 2));
    if (on_step) on_step(std::min((c + 1) * kProgressSteps, steps), steps);
  }
  cache.mark_written(steps - 1);
  result.tokens = graph.history().narrow(1, 0, n).t().contiguous().to(at::kCPU);  // [N, steps]
  result.decode_seconds = clock.seconds();
  result.steps = steps;
  return result;
}

int64_t ImageGenerator::batch_memory_bytes(int64_t images, int64_t longest, const ImageGenerationOptions& options,
                                           int64_t rows_per_image) const {
  LanguageModel& lm = model_.language_model();
  const bool fast = rows_per_image == 2 && use_device_loop(options.decode_loop, lm);
  const int64_t n = fast ? batch_bucket(images) : images, rows = rows_per_image * n;
  const int64_t steps = model_.tokens_per_image();
  const int64_t capacity = fast ? fast_capacity(longest, steps, lm.max_positions()) : longest + steps;
  const CacheShape shape = lm.cache_shape();
  const int64_t element = static_cast<int64_t>(c10::elementSize(lm.dtype()));
  const int64_t cache = KVCache::bytes_for(shape, rows, capacity, lm.dtype());
  // Prefill, per prompt token of each row: the residual stream and its norm, q/k/v/o and the MLP's
  // gate, up and product (an intermediate width of up to ~4x hidden) stay under 24 hidden-wide
  // tensors; the attention scores are f32 [heads, T, T] where the kernel materialises them.
  const int64_t heads = std::max<int64_t>(1, lm.hidden_size() / std::max<int64_t>(1, shape.head_dim));
  const int64_t prefill = rows * longest * (24 * lm.hidden_size() * element + heads * longest * 4);
  // Decode: f32 logits of both rows, the guided mix and the sampler's working copies (about 4 of the
  // image vocabulary per image), plus the attention workspace of one query per row over the cache.
  const int64_t decode = rows * 4 * model_.image_vocab_size() * 4 + rows * heads * capacity * 4;
  return cache + std::max(prefill, decode);
}

ImageGenerationResult ImageGenerator::generate(const std::vector<ImageRequest>& images,
                                               const ImageGenerationOptions& options, const StepCallback& on_step) {
  if (images.empty()) throw Error("image generation needs at least one prompt");
  if (options.cfg_weight < 0) throw UsageError("--cfg must be >= 0");
  if (options.partial_cfg_weight < 0) throw UsageError("--image-cfg must be >= 0");
  LanguageModel& lm = model_.language_model();
  const int64_t per_image = images.front().rows();
  const int64_t n = static_cast<int64_t>(images.size()), rows = per_image * n;
  const int64_t steps = model_.tokens_per_image();
  int64_t longest = 0;
  for (const auto& im : images) {
    check_request(im, per_image, lm.hidden_size());
    longest = std::max<int64_t>(longest, static_cast<int64_t>(im.cond_ids.size()));
  }
  if (longest + steps > lm.max_positions()) {
    throw Error(cat("the prompt is ", longest, " tokens; with ", steps, " image tokens that exceeds the model's context of ",
                    lm.max_positions(), "; shorten the prompt"));
  }

  if (per_image == 2 && use_device_loop(options.decode_loop, lm)) return generate_fast(images, longest, options, on_step);

  // Rows interleaved per image, left-aligned: row starts = longest - length.
  Stopwatch clock;
  KVCache cache = lm.make_cache(rows, longest + steps);
  at::Tensor hidden = prefill(lm, images, n, per_image, longest, cache);
  ImageGenerationResult result;
  result.prefill_seconds = clock.seconds();

  SamplingOptions sampling;
  sampling.temperature = options.temperature;
  sampling.top_k = options.top_k;
  sampling.top_p = options.top_p;
  Sampler sampler(sampling, n, model_.image_vocab_size(), lm.device());
  std::vector<uint64_t> seeds;
  for (const auto& im : images) seeds.push_back(im.seed);
  sampler.set_row_seeds(seeds);

  clock.restart();
  at::Tensor tokens = at::empty({n, steps}, at::TensorOptions().dtype(at::kLong).device(lm.device()));
  for (int64_t step = 0; step < steps; ++step) {
    at::Tensor logits = model_.image_logits(hidden);  // [rows, K] f32
    at::Tensor guided = per_image == 2 ? cfg_mix(logits, options.cfg_weight, CfgLayout::interleaved)
                                       : cfg_mix_two_conditions(logits, options.cfg_weight, options.partial_cfg_weight);
    at::Tensor next = sampler.sample(guided, step);  // [N], stays on the device
    tokens.select(1, step).copy_(next);
    if (on_step) on_step(step + 1, steps);
    if (step + 1 == steps) break;  // the embedding of the last token would be unused
    at::Tensor fed = next.repeat_interleave(per_image).view({rows, 1});  // t0, t0, (t0,) t1, ...
    ForwardBatch batch = cache.plan(1);
    hidden = lm.forward(model_.embed_image_tokens(fed), batch, cache).select(1, 0);
    cache.advance(batch);
  }
  result.tokens = tokens.to(at::kCPU);
  result.decode_seconds = clock.seconds();
  result.steps = steps;
  return result;
}

}  // namespace januskit::engine
