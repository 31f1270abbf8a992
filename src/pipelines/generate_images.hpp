// `januskit generate`: Janus-Pro text-to-image. All images of all prompts run as one batch (or in
// batches of --batch), cut further where the device's free memory asks for it, through the shared
// ImageRenderer, which VQ-decodes each image and writes it (PNG
// with a "parameters" text chunk, atomically) as soon as its batch is done. Image i of the run
// (prompt-major) uses seed + i, so any single image can be reproduced alone.
//
// --best-of N renders N candidates for every requested image in the same batches (candidate k of
// image i draws from seed + i + k * images, so candidate 0 is the image a best-of-1 run gives), scores
// each with the model's own understanding path (image_scorer.hpp) and writes the best; its PNG
// carries a "best_of" text chunk (readout, every candidate's seed and score) beside "parameters".
//
// --plan draws a planner's description of each prompt instead of the prompt itself; the PNG's
// "parameters" hold the description, its "plan" chunk the user's prompt, the description and the
// planner, and --json both prompts.
//
// --image IN.png makes every prompt an editing instruction about that picture (Janus-4o's
// text-and-image-to-image, image_prompts.hpp), guided by --cfg and --image-cfg; "parameters" then
// name the source picture and the second weight.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/image_scorer.hpp"
#include "pipelines/image_settings.hpp"
#include "pipelines/text_model.hpp"

namespace januskit::pipelines {

struct GenerateOptions {
  ModelRequest model;                // default model: the bundled demo-janus
  std::vector<std::string> prompts;
  int64_t count = 1;                 // -n images per prompt
  ImageSettingsOverride settings;    // --cfg, --temperature, --top-k; unset: default_image_settings()
  std::optional<uint64_t> seed;      // unset: random (reported)
  std::string output = "januskit.png";  // a file (several images: name_1.png ...), a folder, or a %d pattern
  bool grid = false;                 // also write a contact sheet (<output stem>_grid.png)
  int64_t batch = 0;                 // images per batch (0: as many as fit in memory)
  int64_t best_of = 1;               // candidates per image, the best by `readout` kept
  ScoreReadout readout = ScoreReadout::caption;
  bool plan = false;                 // --plan: draw a planner's description of each prompt (prompt_planner.hpp)
  std::optional<ModelRequest> planner;  // --planner DIR; unset: the Janus model's own language model
  int64_t plan_tokens = 256;         // new tokens of a plan (a reasoning planner's thinking included)
  std::filesystem::path image;       // --image: edit this picture (empty: text-to-image)
  double image_cfg = 5.0;            // --image-cfg: the partial condition's weight (Janus-4o's cfg_weight2)
};

struct Candidate {
  uint64_t seed = 0;
  double score = 0;
};

struct GeneratedImage {
  std::filesystem::path file;
  std::string prompt;                // as the user gave it
  std::string plan;                  // --plan: the planner's description, what was drawn; else empty
  uint64_t seed = 0;
  std::vector<int32_t> tokens;       // the image token ids, raster order
  std::vector<int32_t> prompt_ids;   // the conditional prompt's ids, as the official processor encodes it
  std::vector<Candidate> candidates; // --best-of N > 1: every candidate, in seed order; `seed` is the chosen one's
  size_t chosen = 0;                 // index into candidates
};

struct GenerateResult {
  std::string model;
  std::filesystem::path source;      // --image: the edited picture; else empty
  double image_cfg = 0;
  std::vector<GeneratedImage> images;
  std::optional<std::filesystem::path> grid;
  double seconds = 0;                // load excluded
  double tokens_per_second = 0;      // image tokens per second over the decode loops
  std::vector<int64_t> batch_sizes;  // images in each batch, in order (as planned for the free memory)
};

// The files for n images: `spec` as a file, a folder (existing, or ending in '/'), or a printf
// pattern with one %d (1-based index).
std::vector<std::filesystem::path> output_files(const std::string& spec, int64_t n);
GenerateResult generate_images(const GenerateOptions& options);
nlohmann::json to_json(const GenerateResult& result);

}  // namespace januskit::pipelines
