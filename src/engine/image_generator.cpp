#include "engine/image_generator.hpp"

#include <ATen/ATen.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"

namespace januskit::engine {

ImageGenerator::ImageGenerator(ImageTokenModel& model) : model_(model) {}

ImageGenerationResult ImageGenerator::generate(const std::vector<ImageRequest>& images,
                                               const ImageGenerationOptions& options, const StepCallback& on_step) {
  if (images.empty()) throw Error("image generation needs at least one prompt");
  if (options.cfg_weight < 0) throw UsageError("--cfg must be >= 0");
  LanguageModel& lm = model_.language_model();
  const int64_t n = static_cast<int64_t>(images.size()), rows = 2 * n;
  const int64_t steps = model_.tokens_per_image();
  int64_t longest = 0;
  for (const auto& im : images) {
    if (im.cond_ids.empty() || im.cond_ids.size() != im.uncond_ids.size()) {
      throw Error("image prompt: conditional and unconditional rows must be non-empty and of equal length");
    }
    longest = std::max<int64_t>(longest, static_cast<int64_t>(im.cond_ids.size()));
  }
  if (longest + steps > lm.max_positions()) {
    throw Error(cat("the prompt is ", longest, " tokens; with ", steps, " image tokens that exceeds the model's context of ",
                    lm.max_positions(), "; shorten the prompt"));
  }

  // Rows interleaved (cond, uncond) per image, left-aligned: row starts = longest - length.
  at::Tensor ids = at::zeros({rows, longest}, at::kLong);
  std::vector<int64_t> starts;
  auto acc = ids.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& im = images[static_cast<size_t>(i)];
    const int64_t len = static_cast<int64_t>(im.cond_ids.size()), start = longest - len;
    for (int64_t t = 0; t < len; ++t) {
      acc[2 * i][start + t] = im.cond_ids[t];
      acc[2 * i + 1][start + t] = im.uncond_ids[t];
    }
    starts.push_back(start);
    starts.push_back(start);
  }

  Stopwatch clock;
  KVCache cache = lm.make_cache(rows, longest + steps);
  cache.set_row_starts(starts);
  ForwardBatch batch = cache.plan(longest);
  at::Tensor hidden = lm.forward(lm.embed_tokens(ids.to(lm.device())), batch, cache).select(1, longest - 1);
  cache.advance(batch);
  synchronize(lm.device());
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
    at::Tensor logits = model_.image_logits(hidden);  // [2N, K] f32
    at::Tensor guided = cfg_mix(logits, options.cfg_weight, CfgLayout::interleaved);
    at::Tensor next = sampler.sample(guided, step);  // [N], stays on the device
    tokens.select(1, step).copy_(next);
    if (on_step) on_step(step + 1, steps);
    if (step + 1 == steps) break;  // the embedding of the last token would be unused
    at::Tensor pair = next.repeat_interleave(2).view({rows, 1});  // t0, t0, t1, t1, ...
    batch = cache.plan(1);
    hidden = lm.forward(model_.embed_image_tokens(pair), batch, cache).select(1, 0);
    cache.advance(batch);
  }
  result.tokens = tokens.to(at::kCPU);
  result.decode_seconds = clock.seconds();
  result.steps = steps;
  return result;
}

}  // namespace januskit::engine
