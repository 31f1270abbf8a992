// `januskit gallery`: render every image of a manifest into a folder, resumably, with one model load.
//
// Work unit. The images are packed into batches by plan_batches() (same settings, manifest order,
// --batch images each); the batch layout depends only on the manifest and --batch. `--shard i/n`
// takes batches i-1, i-1+n, i-1+2n, ... — a deterministic split that needs no coordination.
//
// Resume. An image is done when its PNG exists (it is only ever renamed into place complete) and its
// "parameters" text matches the plan (the januskit version aside). A batch with missing images is
// rendered again whole and only the missing images are written: images of a batch are computed
// together, and keeping the layout fixed keeps a resumed image bit-identical to an uninterrupted
// run's on any device, where a smaller batch could round differently. The one exception: a planned
// batch that does not fit in the memory free at the time runs in parts (ImageRenderer::fit_to_memory),
// so a resume on a fuller machine may round its missing images differently. A PNG with other parameters
// (another model, an edited manifest) is an error unless --force, so no finished work is replaced by
// accident; a damaged one is rendered again.
//
// Sharing a folder. Every process holds DIR/.januskit-gallery.lock shared while it works; one that
// gets it exclusively is alone, so every temporary file in the folder is a leftover of a killed run
// and is removed (at start and at the end; the last process out also removes the lock files). The
// index files are rebuilt from the images on disk under DIR/.januskit-index.lock: after every batch
// when the lock is free, and at the end of every process unconditionally, with the contact sheets.
// The last rebuild sees every image, so the final folder equals a one-process run's.
//
// Best of N. An entry with "best_of" renders N candidates per image in the image's batch (candidate
// k from candidate_seed(seed, k)), scores each with the model's own understanding (image_scorer.hpp)
// and writes the best as <seed>.png: its "parameters" name the winning candidate's seed (so
// `generate` reproduces it), its "best_of" chunk the image's seed, the readout and every candidate.
// Such an image is done when that chunk matches the plan and the parameters match its winner.
//
// Plans. Entries with "plan" draw a planner's description of their prompt (prompt_planner.hpp),
// made greedily at the start of every run (so a resumed run plans the same); the PNG's parameters
// hold the description, its "plan" chunk both prompts, gallery.json both.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <optional>

#include "pipelines/gallery_manifest.hpp"
#include "pipelines/image_scorer.hpp"
#include "pipelines/text_model.hpp"

namespace januskit::pipelines {

struct Shard {
  int64_t index = 1;  // 1-based
  int64_t count = 1;
};

// "i/n" with 1 <= i <= n; UsageError naming --shard otherwise.
Shard parse_shard(std::string_view text);

struct GalleryOptions {
  ModelRequest model;                 // default model: the bundled demo-janus
  std::filesystem::path manifest;     // JSON or text, see gallery_manifest.hpp
  std::filesystem::path output;       // the gallery folder (created, with parents)
  ManifestDefaults defaults;          // -n/--seed/--cfg/--temperature/--top-k: for what the manifest leaves unset
  Shard shard;                        // --shard i/n (default 1/1: everything)
  bool force = false;                 // re-render this shard's images even when present
  int64_t batch = 8;                  // images per batch; 0 = every image with the same settings at once
                                      // (a best-of image counts once, its candidates all in its batch)
  ScoreReadout readout = ScoreReadout::caption;  // --best-of-readout
  std::optional<ModelRequest> planner;  // --planner DIR; unset: the Janus model's own language model
  int64_t plan_tokens = 256;            // --plan-tokens
};

struct GalleryResult {
  std::filesystem::path dir;
  std::string model;
  Shard shard;
  int64_t images_total = 0;       // in the plan, all shards
  int64_t images_owned = 0;       // this shard's share
  int64_t already_present = 0;    // of this shard's images, finished before this run
  int64_t rendered = 0;           // images written by this run
  int64_t recomputed = 0;         // present images computed again with their batch, not rewritten
  int64_t batches = 0;            // batches rendered
  int64_t images_present = 0;     // in the whole gallery at the end
  int64_t temporaries_removed = 0;
  double seconds = 0;             // rendering, model load excluded
  double images_per_minute = 0;   // images computed per minute of rendering
  double tokens_per_second = 0;
  bool complete() const { return images_present == images_total; }
};

GalleryResult render_gallery(const GalleryOptions& options);

// The lines the CLI prints at the end: images, time, images/min, where the results are.
std::string gallery_summary(const GalleryResult& result);

}  // namespace januskit::pipelines
