// Text-to-image rendering shared by `januskit generate` and `januskit gallery`: one Janus-Pro model
// load, then any number of batches, each image VQ-decoded and written (PNG with its "parameters"
// text chunk, atomically) as soon as its batch is done.
//
// engine::ImageGenerator takes one set of sampling options per call, so a batch holds images with
// equal settings (CFG, temperature, top-k); plan_batches() packs images of different prompts that
// share settings together. Every image draws from its own seed (counter-based, see engine/sampler),
// so its tokens do not depend on its batch neighbours up to floating-point summation order; callers
// that need bit-identical reruns (the gallery's resume) keep the batch layout fixed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/image.hpp"
#include "pipelines/image_prompts.hpp"
#include "pipelines/image_scorer.hpp"
#include "pipelines/image_settings.hpp"
#include "pipelines/text_model.hpp"

namespace januskit::pipelines {

struct JanusBundle;

// Image-conditioned generation (Janus-4o's editing): the picture a job's prompt is an instruction
// about. Jobs of one batch either all have one (with equal weights) or none has.
struct SourcePicture {
  io::RgbImage picture;
  ImageSourceInfo info;  // its name and the partial condition's weight, as the metadata records them
};

struct ImageJob {
  std::string prompt;
  uint64_t seed = 0;
  ImageSettings settings;
  std::filesystem::path file;  // where the PNG goes; empty: render only (its batch is needed, the file is not)
  std::vector<std::pair<std::string, std::string>> text;  // PNG text chunks beside "parameters"
  std::shared_ptr<const SourcePicture> source;             // set: an edit of this picture
};

struct RenderedImage {
  size_t job = 0;               // index into the jobs given to render()
  bool written = false;         // the PNG at jobs[job].file is complete on disk
  std::vector<int32_t> tokens;  // the image token ids, raster order
  io::RgbImage pixels;
  std::vector<int32_t> prompt_ids;  // the conditional prompt as encoded (BOS ... <begin_of_image>)
};

struct RenderStatus {
  int64_t batch = 0, batches = 0;      // 1-based batch number and the number of batches
  int64_t batch_images = 0;            // images in this batch
  int64_t step = 0, steps = 0;         // decode steps done in this batch, of `steps`
  int64_t images_done = 0;             // images finished in earlier batches and this one so far
  int64_t images_total = 0;
};

struct RenderCallbacks {
  std::function<void(const RenderStatus&)> on_step;    // after every decode step
  std::function<void(const RenderedImage&)> on_image;  // after each image is decoded (and written)
  std::function<void(const RenderStatus&)> on_batch;   // after each batch, all of its images handled
};

struct RenderStats {
  int64_t images = 0;             // images decoded (written or not)
  int64_t written = 0;            // PNG files written
  double seconds = 0;             // whole render, load excluded
  double decode_seconds = 0;      // the token loops alone
  double tokens_per_second = 0;   // image tokens per second over the token loops
};

// Candidate pictures of one prompt rated by the model's own understanding.
struct BestOfChoice {
  std::vector<double> scores;  // per candidate
  size_t chosen = 0;           // the best, the first on a tie
};

// Batches of job indices: jobs grouped by settings in order of first appearance, each group cut in
// order into batches of at most `per_batch` images (0: one batch per group). Deterministic, so that
// processes planning the same jobs agree on every batch.
std::vector<std::vector<size_t>> plan_batches(const std::vector<ImageSettings>& settings, int64_t per_batch);

// The settings the model folder asks for (its generation_config.json, see model_image_settings()),
// read without loading the model: what applies where neither flags nor a manifest set a value.
ImageSettings default_image_settings(const ModelRequest& model);

// What a renderer is used for beyond text-to-image, i.e. which parts of the model it loads.
struct RendererUses {
  bool understanding = false;  // score() and plan(): the understanding encoder and the text head
  bool editing = false;        // jobs with a source picture: the understanding and the VQ encoder
};

class ImageRenderer {
 public:
  // Loads the generation parts of the model, and what `uses` asks for besides.
  explicit ImageRenderer(const ModelRequest& model, RendererUses uses = {});
  ~ImageRenderer();
  ImageRenderer(const ImageRenderer&) = delete;
  ImageRenderer& operator=(const ImageRenderer&) = delete;

  const ImageModelInfo& model_info() const { return info_; }
  // The loaded model, for understanding with the same weights (a renderer built with `understanding`).
  JanusBundle& bundle() { return *bundle_; }
  std::string parameters(const ImageJob& job) const {
    return image_parameters(job.prompt, job.seed, job.settings, info_, job.source ? &job.source->info : nullptr);
  }
  // Throws Error when the prompt (an edit's, with `source`) and the image tokens do not fit in the
  // model's context.
  void check_prompt(const std::string& prompt, const SourcePicture* source = nullptr) const;

  // The batches cut further so that each fits in the memory the device has free now, beside the
  // loaded weights (core/memory.hpp; engine::ImageGenerator::batch_memory_bytes; the VQ decoder's
  // activations for one image). A batch that fits stays whole; one that does not becomes the fewest
  // near-equal parts that fit. Logs what it chose (-v), and why when it cut a batch.
  std::vector<std::vector<size_t>> fit_to_memory(const std::vector<ImageJob>& jobs,
                                                 const std::vector<std::vector<size_t>>& batches) const;

  // How well `picture` shows `prompt` by the model's own understanding (image_scorer.hpp); needs a
  // renderer built with `scoring`.
  double score(const io::RgbImage& picture, const std::string& prompt, ScoreReadout readout);
  BestOfChoice choose_best(const std::vector<io::RgbImage>& candidates, const std::string& prompt, ScoreReadout readout);
  // The model's own language model's plan for `prompt` (prompt_planner.hpp); needs `understanding`.
  std::string plan(const std::string& prompt, int64_t max_tokens);

  // Renders the batches in order; the jobs of one batch must share their settings.
  RenderStats render(const std::vector<ImageJob>& jobs, const std::vector<std::vector<size_t>>& batches,
                     const RenderCallbacks& callbacks = {});

 private:
  // A job's prompt rows; an edit's picture encoded once per source and kept for the render.
  engine::ImageRequest request(const ImageJob& job);
  // The prompt length of a job without encoding its picture (an edit's blocks are fixed-size).
  int64_t prompt_length(const std::string& prompt, const SourcePicture* source) const;

  std::unique_ptr<JanusBundle> bundle_;
  ImageModelInfo info_;
  std::map<const SourcePicture*, EncodedPicture> encoded_;
};

}  // namespace januskit::pipelines
