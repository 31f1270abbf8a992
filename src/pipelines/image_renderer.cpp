#include "pipelines/image_renderer.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "core/byte_size.hpp"
#include "core/device.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/timer.hpp"
#include "engine/image_generator.hpp"
#include "io/png.hpp"
#include "pipelines/image_prompts.hpp"
#include "pipelines/janus_model.hpp"
#include "pipelines/model_location.hpp"
#include "pipelines/prompt_planner.hpp"
#include "text/chat.hpp"

namespace januskit::pipelines {
namespace {

std::vector<int32_t> token_row(const at::Tensor& tokens, int64_t row) {
  auto acc = tokens.accessor<int64_t, 2>();
  std::vector<int32_t> out(static_cast<size_t>(tokens.size(1)));
  for (int64_t k = 0; k < tokens.size(1); ++k) out[static_cast<size_t>(k)] = static_cast<int32_t>(acc[row][k]);
  return out;
}

// Beyond the estimates: the allocator's fragmentation, the tokenizer, PNG encoding, the CUDA graph's
// private pool. Planning uses this share of the free memory and keeps this much aside.
constexpr double kUsableShare = 0.9;
constexpr int64_t kSlackBytes = int64_t{256} << 20;

// `batch` cut into the fewest parts of near-equal size with at most `most` images each, in order.
std::vector<std::vector<size_t>> split_evenly(const std::vector<size_t>& batch, int64_t most) {
  const size_t n = batch.size(), parts = (n + static_cast<size_t>(most) - 1) / static_cast<size_t>(most);
  std::vector<std::vector<size_t>> out;
  size_t first = 0;
  for (size_t p = 0; p < parts; ++p) {
    const size_t size = (n - first) / (parts - p) + ((n - first) % (parts - p) != 0 ? 1 : 0);
    out.emplace_back(batch.begin() + static_cast<std::ptrdiff_t>(first),
                     batch.begin() + static_cast<std::ptrdiff_t>(first + size));
    first += size;
  }
  return out;
}

}  // namespace

std::vector<std::vector<size_t>> plan_batches(const std::vector<ImageSettings>& settings, int64_t per_batch) {
  if (per_batch < 0) throw UsageError("--batch must be >= 0");
  // Groups in order of first appearance; a linear search is fine for the handful of distinct settings.
  std::vector<ImageSettings> keys;
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < settings.size(); ++i) {
    size_t g = 0;
    while (g < keys.size() && !(keys[g] == settings[i])) ++g;
    if (g == keys.size()) {
      keys.push_back(settings[i]);
      groups.emplace_back();
    }
    groups[g].push_back(i);
  }
  std::vector<std::vector<size_t>> batches;
  for (const auto& group : groups) {
    const size_t size = per_batch > 0 ? static_cast<size_t>(per_batch) : group.size();
    for (size_t first = 0; first < group.size(); first += size) {
      const size_t last = std::min(group.size(), first + size);
      batches.emplace_back(group.begin() + static_cast<std::ptrdiff_t>(first), group.begin() + static_cast<std::ptrdiff_t>(last));
    }
  }
  return batches;
}

ImageSettings default_image_settings(const ModelRequest& model) {
  const std::filesystem::path file = resolve_model_dir(model.model, "demo-janus") / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return {};
  return model_image_settings(io::read_json_file(file), file.string());
}

ImageRenderer::ImageRenderer(const ModelRequest& model, RendererUses uses)
    : bundle_(std::make_unique<JanusBundle>(load_janus(
          model, {.understanding = uses.understanding || uses.editing, .generation = true, .vq_encoder = uses.editing}))) {
  info_.name = bundle_->name;
  info_.steps = bundle_->model->tokens_per_image();
  info_.size = bundle_->model->config().vq.image_size();
}

ImageRenderer::~ImageRenderer() = default;

double ImageRenderer::score(const io::RgbImage& picture, const std::string& prompt, ScoreReadout readout) {
  return score_image(*bundle_, picture, prompt, readout);
}

BestOfChoice ImageRenderer::choose_best(const std::vector<io::RgbImage>& candidates, const std::string& prompt,
                                        ScoreReadout readout) {
  BestOfChoice out;
  for (size_t k = 0; k < candidates.size(); ++k) {
    out.scores.push_back(score(candidates[k], prompt, readout));
    if (out.scores[k] > out.scores[out.chosen]) out.chosen = k;
  }
  return out;
}

std::string ImageRenderer::plan(const std::string& prompt, int64_t max_tokens) {
  return plan_with_janus(*bundle_, prompt, max_tokens);
}

int64_t ImageRenderer::prompt_length(const std::string& prompt, const SourcePicture* source) const {
  const JanusBundle& b = *bundle_;
  if (source == nullptr) return static_cast<int64_t>(text_to_image_request(b, prompt, 0).cond_ids.size());
  const std::string text = text::render_janus_edit(prompt, b.model->config().vision.num_patches(), info_.steps);
  return static_cast<int64_t>(b.tokenizer.encode(text, text::SpecialTokens::processor).size());
}

engine::ImageRequest ImageRenderer::request(const ImageJob& job) {
  if (!job.source) return text_to_image_request(*bundle_, job.prompt, job.seed);
  if (!bundle_->model->parts().vq_encoder) throw Error("image renderer: built without editing, given a source picture");
  auto [at, fresh] = encoded_.try_emplace(job.source.get());
  if (fresh) at->second = encode_picture(*bundle_, job.source->picture);
  return edit_request(*bundle_, job.prompt, job.seed, at->second);
}

void ImageRenderer::check_prompt(const std::string& prompt, const SourcePicture* source) const {
  const int64_t length = prompt_length(prompt, source);
  const int64_t context = bundle_->model->language_model().max_positions();
  if (length + info_.steps > context) {
    throw Error(cat("the prompt is ", length, " tokens; with ", info_.steps, " image tokens that exceeds the model's context of ",
                    context, "; shorten the prompt"));
  }
}

std::vector<std::vector<size_t>> ImageRenderer::fit_to_memory(const std::vector<ImageJob>& jobs,
                                                              const std::vector<std::vector<size_t>>& batches) const {
  models::JanusModel& model = *bundle_->model;
  const c10::Device device = model.device();
  const FreeMemory free = free_memory(device);
  const int64_t decode_images =
      model.config().vq.decode_activation_bytes(static_cast<int64_t>(c10::elementSize(model.dtype())));
  const int64_t budget =
      static_cast<int64_t>(kUsableShare * static_cast<double>(free.bytes)) - decode_images - kSlackBytes;
  const engine::ImageGenerator generator(model);
  std::vector<std::vector<size_t>> out;
  for (const auto& batch : batches) {
    if (batch.empty()) continue;
    const ImageJob& first = jobs.at(batch.front());
    const ImageSettings& s = first.settings;
    const engine::ImageGenerationOptions options{s.cfg, s.temperature, s.top_k, 1.0};
    int64_t longest = 0;
    for (size_t j : batch) longest = std::max(longest, prompt_length(jobs[j].prompt, jobs[j].source.get()));
    const int64_t rows = first.source ? 3 : 2;
    const auto need = [&](int64_t images) { return generator.batch_memory_bytes(images, longest, options, rows); };
    const int64_t wanted = static_cast<int64_t>(batch.size());
    int64_t fits = wanted;
    while (fits > 1 && need(fits) > budget) --fits;
    const std::string figures =
        cat(format_bytes(static_cast<uint64_t>(std::max<int64_t>(0, free.bytes))), " free on ", device_name(device), " (",
            free.source, "), ", format_bytes(static_cast<uint64_t>(std::max<int64_t>(0, budget))),
            " of it for batches after a ", static_cast<int>(std::lround(100 * (1 - kUsableShare))), " % margin, ",
            format_bytes(static_cast<uint64_t>(kSlackBytes)), " of slack and ",
            format_bytes(static_cast<uint64_t>(decode_images)), " to VQ-decode one image");
    if (fits == wanted) {
      log::debug("memory: ", figures, "; a batch of ", wanted, wanted == 1 ? " image" : " images", " needs ",
                 format_bytes(static_cast<uint64_t>(need(wanted))), " (KV cache, activations): kept whole");
      out.push_back(batch);
      continue;
    }
    std::vector<std::vector<size_t>> parts = split_evenly(batch, fits);
    if (need(1) > budget) {
      log::warn("memory: ", figures, "; even one image needs ", format_bytes(static_cast<uint64_t>(need(1))),
                ", so they run one at a time and may run out of memory");
    } else {
      log::info("memory: ", figures, "; ", wanted, " images at once would need ",
                format_bytes(static_cast<uint64_t>(need(wanted))), ", so they run as ", parts.size(),
                " batches of at most ", parts.front().size());
    }
    for (auto& part : parts) out.push_back(std::move(part));
  }
  return out;
}

RenderStats ImageRenderer::render(const std::vector<ImageJob>& jobs, const std::vector<std::vector<size_t>>& batches,
                                  const RenderCallbacks& callbacks) {
  RenderStats stats;
  Stopwatch clock;
  encoded_.clear();
  engine::ImageGenerator generator(*bundle_->model);
  RenderStatus status;
  status.batches = static_cast<int64_t>(batches.size());
  status.steps = info_.steps;
  for (const auto& batch : batches) status.images_total += static_cast<int64_t>(batch.size());

  for (const auto& batch : batches) {
    if (batch.empty()) continue;
    const ImageJob& first = jobs.at(batch.front());
    const ImageSettings& settings = first.settings;
    const double source_weight = first.source ? first.source->info.weight : 0.0;
    std::vector<engine::ImageRequest> requests;
    for (size_t j : batch) {
      const ImageJob& job = jobs.at(j);
      if (!(job.settings == settings)) throw Error("image renderer: a batch mixes images with different settings");
      if (!job.source != !first.source || (job.source && job.source->info.weight != source_weight)) {
        throw Error("image renderer: a batch mixes edits and generated images, or edits of different weights");
      }
      requests.push_back(request(job));
    }
    ++status.batch;
    status.batch_images = static_cast<int64_t>(batch.size());
    status.step = 0;
    engine::ImageGenerationOptions options{settings.cfg, settings.temperature, settings.top_k, 1.0};
    if (first.source) options.partial_cfg_weight = source_weight;
    engine::ImageGenerationResult out = generator.generate(requests, options, [&](int64_t step, int64_t) {
      status.step = step;
      if (callbacks.on_step) callbacks.on_step(status);
    });
    stats.decode_seconds += out.decode_seconds;
    // Decode and write one image at a time: each file lands as soon as it exists.
    for (size_t i = 0; i < batch.size(); ++i) {
      const ImageJob& job = jobs[batch[i]];
      at::Tensor row = out.tokens.narrow(0, static_cast<int64_t>(i), 1);
      at::Tensor pixels = models::to_uint8_images(bundle_->model->decode_images(row)).to(at::kCPU).contiguous();
      RenderedImage image{batch[i], false, token_row(out.tokens, static_cast<int64_t>(i)),
                          io::RgbImage{info_.size, info_.size,
                                       std::vector<uint8_t>(pixels.data_ptr<uint8_t>(),
                                                            pixels.data_ptr<uint8_t>() + pixels.numel())},
                          requests[i].cond_ids};
      if (!job.file.empty()) {
        std::vector<std::pair<std::string, std::string>> text = {{"parameters", parameters(job)}};
        text.insert(text.end(), job.text.begin(), job.text.end());
        io::write_png(job.file, image.pixels.pixels.data(), info_.size, info_.size, text);
        image.written = true;
        ++stats.written;
      }
      ++stats.images;
      ++status.images_done;
      if (callbacks.on_image) callbacks.on_image(image);
    }
    if (callbacks.on_batch) callbacks.on_batch(status);
  }
  encoded_.clear();  // keyed by address: a later render's pictures may reuse one
  stats.seconds = clock.seconds();
  stats.tokens_per_second = rate(double(stats.images * info_.steps), stats.decode_seconds);
  return stats;
}

}  // namespace januskit::pipelines
