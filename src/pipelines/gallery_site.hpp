// What a gallery folder holds besides its images, all derived from the plan and the set of images
// present on disk — never from which process rendered what — so any process (one of several
// shards, or a rerun after a crash) rebuilds exactly the same bytes from the same state:
//
//   DIR/gallery.json              every image present with its parameters, plus the plan's entries
//   DIR/index.html                self-contained page: inline CSS/JS, relative image paths, no network
//   DIR/contact_sheet.png         all images present, captioned "ENTRY, seed N"
//   DIR/<entry>/<seed>.png        the images (written by the renderer)
//   DIR/<entry>/contact_sheet.png the entry's images, captioned "seed N"
//
// Nothing here depends on time, host or shard, which is what makes the final folder of a sharded or
// interrupted run byte-identical to a one-process run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pipelines/gallery_manifest.hpp"
#include "pipelines/image_settings.hpp"

namespace januskit::pipelines {

inline constexpr const char* kGalleryJson = "gallery.json";
inline constexpr const char* kGalleryHtml = "index.html";
inline constexpr const char* kContactSheet = "contact_sheet.png";

struct GalleryImage {
  size_t entry = 0;            // index into manifest.entries
  uint64_t seed = 0;
  std::string file;            // relative to the gallery folder: "<entry name>/<seed>.png"
  std::string parameters;      // the PNG "parameters" text (a best-of image's: as read from its file)
  std::string best_of;         // a best-of image on disk: its "best_of" chunk (JSON); else empty
};

struct GalleryPlan {
  GalleryManifest manifest;
  ImageModelInfo model;
  std::vector<GalleryImage> images;  // entry by entry, seeds in manifest order
  std::vector<std::string> plans;    // per entry with "plan": the planner's description (what is drawn)
  std::string planner;               // who wrote the plans

  // What entry e's images show: its plan, or its prompt.
  const std::string& drawn_prompt(size_t e) const;
};

// Candidate k of a best-of image with seed s draws from s + k · 2^32 (mod 2^64): candidate 0 is the
// image a best-of-1 gallery renders, and the candidates of nearby seeds never meet.
uint64_t candidate_seed(uint64_t seed, int64_t k);

// `plans`: one per entry (empty for entries without "plan"), or none when no entry plans.
GalleryPlan plan_gallery(GalleryManifest manifest, const ImageModelInfo& model, std::vector<std::string> plans = {},
                         std::string planner = {});

// Which planned images exist in `dir` (by name: images are only ever renamed into place complete).
std::vector<bool> images_present(const std::filesystem::path& dir, const GalleryPlan& plan);

// The index files' contents. `sheets` says whether the contact sheets of this state were written,
// so that the index refers to them.
std::string gallery_json(const GalleryPlan& plan, const std::vector<bool>& present, bool sheets);
std::string gallery_html(const GalleryPlan& plan, const std::vector<bool>& present, bool sheets);

// Writes gallery.json and index.html (and, with `sheets`, the contact sheets first, so the index
// never names a sheet that is not there yet), each atomically; best-of images' parameters and
// choices are read from their files. The caller serialises writers.
void write_gallery_index(const std::filesystem::path& dir, const GalleryPlan& plan, const std::vector<bool>& present,
                         bool sheets);

// Every file name this module or the renderer writes in `dir` or an entry folder, for the removal of
// temporaries left by killed runs (AtomicFile names them ".NAME.tmp-XXXXXX").
bool is_gallery_output_name(const std::string& filename, bool in_entry_folder);

}  // namespace januskit::pipelines
