// Gallery manifests: what `januskit gallery` renders.
//
// JSON form (one object):
//   {"title": "...",                                   optional, the HTML page's title
//    "defaults": {"count": 4, "seed_start": 0, "cfg": 5, "temperature": 1, "top_k": 0},
//    "entries": ["a plain prompt",
//                {"prompt": "...", "name": "red-circle", "seeds": [1, 2, 3]},
//                {"prompt": "...", "seed_start": 10, "count": 8, "cfg": 7},
//                {"prompt": "...", "best_of": 4, "plan": true}]}
// An entry takes its seeds from its own "seeds" list or "seed_start" + "count" sweep, else from the
// defaults' ("seeds" or "seed_start" + "count"), else seed_start 0. Keys starting with "_" are
// comments and ignored; any other unknown key is an error (a typo must not silently change a render).
// "best_of": N (1 to kMaxBestOf) renders N candidates per image and keeps the one the model's own
// understanding rates best (generate --best-of); "plan": true draws a planner's description of the
// prompt (generate --plan). Both may also sit in "defaults".
//
// Text form: one prompt per line; blank lines and lines starting with '#' are skipped.
//
// The CLI's -n/--seed/--cfg/--temperature/--top-k/--best-of/--plan fill in what the manifest leaves unset (entry >
// manifest defaults > flags > the model's defaults, see default_image_settings()). Every entry gets a folder name: its "name", or a
// slug of its prompt made unique within the manifest. Errors are FileErrors naming the manifest, the
// entry (index and name) and the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipelines/image_settings.hpp"

namespace januskit::pipelines {

struct GalleryEntry {
  std::string name;              // folder name: [A-Za-z0-9_-], unique (ignoring case) in the manifest
  std::string prompt;
  std::vector<uint64_t> seeds;   // one image per seed, in this order, no repeats
  ImageSettings settings;
  int64_t best_of = 1;           // candidates per image
  bool plan = false;             // draw the planner's description of the prompt
  std::string origin;            // where the manifest defines it: "entries[2]" or "line 7", for messages
};

struct GalleryManifest {
  std::string title;             // "title", or the manifest's file name without extension
  std::vector<GalleryEntry> entries;

  int64_t image_count() const;
  bool any_best_of() const;  // some entry has best_of > 1
  bool any_plan() const;
};

// Defaults for what the manifest leaves unset (the CLI flags).
struct ManifestDefaults {
  std::optional<int64_t> count;
  std::optional<uint64_t> seed_start;
  ImageSettingsOverride settings;  // --cfg, --temperature, --top-k
  std::optional<int64_t> best_of;  // --best-of
  std::optional<bool> plan;        // --plan
  ImageSettings model;             // what nobody sets: the model's defaults (default_image_settings())
};

// Limits that keep a typo from planning an endless run.
inline constexpr int64_t kMaxImagesPerEntry = 100000;
inline constexpr size_t kMaxNameLength = 64;
inline constexpr int64_t kMaxBestOf = 64;

// Reads and validates a manifest file (JSON when it ends in .json or starts with '{', else text).
GalleryManifest load_manifest(const std::filesystem::path& path, const ManifestDefaults& defaults = {});
// The same from text in memory; `source` names it in errors, `stem` is the default title.
GalleryManifest parse_manifest(std::string_view text, const std::string& source, const std::string& stem,
                               const ManifestDefaults& defaults = {});

// A folder name for a prompt: lower-case ASCII letters and digits, other runs as '-', at most 40
// characters (cut at a '-' where possible); empty when the prompt has no ASCII letter or digit.
std::string slugify(std::string_view prompt);

}  // namespace januskit::pipelines
