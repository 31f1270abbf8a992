#include "pipelines/render_gallery.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/timer.hpp"
#include "io/file_lock.hpp"
#include "io/png.hpp"
#include "pipelines/gallery_site.hpp"
#include "pipelines/image_renderer.hpp"
#include "pipelines/prompt_planner.hpp"

namespace januskit::pipelines {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRunLock = ".januskit-gallery.lock";
constexpr const char* kIndexLock = ".januskit-index.lock";
constexpr std::string_view kTempMarker = ".tmp-";
constexpr size_t kTempSuffix = 6;  // mkstemp's XXXXXX

// ".NAME.tmp-XXXXXX" (an AtomicFile temporary) -> NAME; empty for anything else.
std::string temporary_target(const std::string& filename) {
  const size_t tail = kTempMarker.size() + kTempSuffix;
  if (filename.size() < 2 + tail || filename[0] != '.') return {};
  const size_t marker = filename.size() - tail;
  if (filename.compare(marker, kTempMarker.size(), kTempMarker) != 0) return {};
  for (size_t i = marker + kTempMarker.size(); i < filename.size(); ++i) {
    if (!std::isalnum(static_cast<unsigned char>(filename[i]))) return {};
  }
  return filename.substr(1, marker - 1);
}

// Removes the temporaries of gallery files in `folder` (only names januskit writes there, so that a
// user's own dot-files are never touched). Only called while no other process works in the folder.
int64_t remove_temporaries_in(const fs::path& folder, bool entry_folder) {
  int64_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string target = temporary_target(name);
    if (target.empty() || !is_gallery_output_name(target, entry_folder)) continue;
    if (!it->is_regular_file(ec)) continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm)) {
      ++removed;
      log::debug("removed ", it->path().string(), ", left by an interrupted run");
    } else if (rm) {
      throw FileError(it->path().string(), cat("cannot remove this leftover temporary file: ", rm.message()));
    }
  }
  return removed;
}

int64_t remove_temporaries(const fs::path& dir, const GalleryPlan& plan) {
  int64_t removed = remove_temporaries_in(dir, false);
  for (const auto& e : plan.manifest.entries) {
    if (fs::is_directory(dir / e.name)) removed += remove_temporaries_in(dir / e.name, true);
  }
  return removed;
}

// Holds the run lock shared for the lifetime of one process's work. The process that finds itself
// alone (exclusive lock granted) cleans up after killed runs; the last one out also removes the lock
// files, so a finished gallery folder holds nothing but the gallery.
class RunLock {
 public:
  RunLock(fs::path dir, const GalleryPlan& plan) : dir_(std::move(dir)), plan_(plan) {
    if (auto alone = io::FileLock::acquire(dir_ / kRunLock, io::LockMode::exclusive, /*wait=*/false)) {
      removed_ += remove_temporaries(dir_, plan_);
    }
    shared_ = io::FileLock::acquire(dir_ / kRunLock, io::LockMode::shared, /*wait=*/true);
  }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock() {
    try {
      finish();
    } catch (const std::exception& e) {
      log::warn("gallery: cleaning up ", dir_.string(), " failed: ", e.what());
    }
  }

  // Releases the shared lock; if no other process is working now, cleans up and removes the locks.
  void finish() {
    if (!shared_) return;
    shared_.reset();
    auto alone = io::FileLock::acquire(dir_ / kRunLock, io::LockMode::exclusive, /*wait=*/false);
    if (!alone) return;
    removed_ += remove_temporaries(dir_, plan_);
    if (auto index = io::FileLock::acquire(dir_ / kIndexLock, io::LockMode::exclusive, /*wait=*/false)) index->remove_file();
    alone->remove_file();
  }

  int64_t removed() const { return removed_; }

 private:
  fs::path dir_;
  const GalleryPlan& plan_;
  std::optional<io::FileLock> shared_;
  int64_t removed_ = 0;
};

// Rebuilds gallery.json and index.html (and with `final`, the contact sheets) from the images on
// disk. Between batches a busy index lock means another process is rebuilding right now, and its
// result or a later one will show our images too, so we do not wait; at the end we always do.
void update_index(const fs::path& dir, const GalleryPlan& plan, bool final_rebuild, int64_t* present_out = nullptr) {
  auto lock = io::FileLock::acquire(dir / kIndexLock, io::LockMode::exclusive, /*wait=*/final_rebuild);
  if (!lock) return;
  const std::vector<bool> present = images_present(dir, plan);
  write_gallery_index(dir, plan, present, final_rebuild);
  if (present_out) *present_out = static_cast<int64_t>(std::count(present.begin(), present.end(), true));
}

enum class OnDisk { missing, done, damaged, different };

struct Existing {
  OnDisk state = OnDisk::missing;
  std::string found;  // the settings found, for `different`
};

// "Steps: 16, CFG scale: 7, ..., Model: m" — the settings line of a parameters text.
std::string settings_line(std::string_view parameters) {
  std::string_view stem = parameters_without_version(parameters);
  const size_t nl = stem.rfind('\n');
  return std::string(nl == std::string_view::npos ? stem : stem.substr(nl + 1));
}

// ", best of 3 rated by caption" from an image's "best_of" record; empty without one.
std::string best_of_summary(const std::map<std::string, std::string>& text) {
  auto note = text.find("best_of");
  if (note == text.end()) return {};
  const nlohmann::json j = nlohmann::json::parse(note->second, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("candidates") || !j["candidates"].is_array() || !j.contains("readout")) {
    return ", an unreadable best_of record";
  }
  return cat(", best of ", j["candidates"].size(), " rated by ", j["readout"].is_string() ? j["readout"].get<std::string>() : "?");
}

// The parameters an image's file must hold: the plan's; for a best-of image those of the winner its
// "best_of" record names, when the record matches the plan (its seed, readout and candidate seeds),
// else empty.
std::string expected_parameters(const GalleryPlan& plan, const GalleryImage& im, const std::map<std::string, std::string>& text,
                                ScoreReadout readout) {
  const GalleryEntry& entry = plan.manifest.entries[im.entry];
  if (entry.best_of <= 1) return im.parameters;
  auto note = text.find("best_of");
  if (note == text.end()) return {};
  const nlohmann::json j = nlohmann::json::parse(note->second, nullptr, /*allow_exceptions=*/false);
  try {
    const nlohmann::json& candidates = j.at("candidates");
    if (j.at("seed").get<uint64_t>() != im.seed || j.at("readout").get<std::string>() != score_readout_name(readout) ||
        !candidates.is_array() || candidates.size() != static_cast<size_t>(entry.best_of)) {
      return {};
    }
    for (size_t k = 0; k < candidates.size(); ++k) {
      if (candidates[k].at("seed").get<uint64_t>() != candidate_seed(im.seed, static_cast<int64_t>(k))) return {};
    }
    const size_t chosen = j.at("chosen").get<size_t>();
    if (chosen >= candidates.size()) return {};
    return image_parameters(plan.drawn_prompt(im.entry), candidate_seed(im.seed, static_cast<int64_t>(chosen)),
                            entry.settings, plan.model);
  } catch (const nlohmann::json::exception&) {
    return {};
  }
}

Existing inspect(const fs::path& file, const GalleryPlan& plan, const GalleryImage& im, ScoreReadout readout) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  try {
    auto text = io::read_png_text(file);
    auto it = text.find("parameters");
    if (it == text.end()) return {OnDisk::different, "(no parameters)"};
    const std::string expected = expected_parameters(plan, im, text, readout);
    if (!expected.empty() && parameters_without_version(it->second) == parameters_without_version(expected)) {
      return {OnDisk::done, {}};
    }
    return {OnDisk::different, cat(settings_line(it->second), best_of_summary(text))};
  } catch (const Error& e) {
    log::warn(e.what(), "; rendering it again");
    return {OnDisk::damaged, {}};
  }
}

void check_prompts(const ImageRenderer& renderer, const GalleryManifest& manifest, const std::vector<std::string>& plans,
                   const fs::path& source) {
  for (size_t i = 0; i < manifest.entries.size(); ++i) {
    const GalleryEntry& e = manifest.entries[i];
    try {
      renderer.check_prompt(e.plan ? plans.at(i) : e.prompt);
    } catch (const Error& err) {
      throw FileError(source.string(), cat(e.origin, " (name \"", e.name, "\"): prompt: ", err.what()));
    }
  }
}

}  // namespace

Shard parse_shard(std::string_view text) {
  Shard s;
  const size_t slash = text.find('/');
  auto number = [](std::string_view digits, int64_t& out) {
    if (digits.empty()) return false;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && end == digits.data() + digits.size();
  };
  if (slash == std::string_view::npos || !number(text.substr(0, slash), s.index) || !number(text.substr(slash + 1), s.count) ||
      s.count < 1 || s.index < 1 || s.index > s.count) {
    throw UsageError(cat("--shard: '", text, "' must be i/n with 1 <= i <= n, e.g. 2/4 for the second of four shards"));
  }
  return s;
}

namespace {

// The renderer's jobs for a gallery's images: one per image, or one per candidate of a best-of
// image (consecutive), each with its plan chunk where its entry plans.
struct GalleryJobs {
  std::vector<ImageJob> jobs;
  std::vector<size_t> image_of;    // job -> plan image
  std::vector<size_t> first_job;   // plan image -> its first job
};

GalleryJobs gallery_jobs(const GalleryPlan& plan) {
  GalleryJobs g;
  for (size_t i = 0; i < plan.images.size(); ++i) {
    const GalleryImage& im = plan.images[i];
    const GalleryEntry& entry = plan.manifest.entries[im.entry];
    std::vector<std::pair<std::string, std::string>> text;
    if (entry.plan) {
      const nlohmann::json note = {{"prompt", entry.prompt}, {"plan", plan.plans[im.entry]}, {"planner", plan.planner}};
      text.emplace_back("plan", note.dump());
    }
    g.first_job.push_back(g.jobs.size());
    for (int64_t k = 0; k < entry.best_of; ++k) {
      const uint64_t seed = entry.best_of > 1 ? candidate_seed(im.seed, k) : im.seed;
      g.jobs.push_back({plan.drawn_prompt(im.entry), seed, entry.settings, {}, text, nullptr});
      g.image_of.push_back(i);
    }
  }
  return g;
}

// This shard's batches (of plan images) that still have images to write; marks those images in
// `missing`, gives the renderer the files of missing one-candidate images, and counts what is
// already there. A PNG made with other settings stops the run.
std::vector<std::vector<size_t>> work_to_do(const GalleryOptions& o, const GalleryPlan& plan,
                                            const std::vector<std::vector<size_t>>& batches, GalleryJobs& g,
                                            std::vector<bool>& missing, GalleryResult& result) {
  std::vector<std::vector<size_t>> todo;
  std::string first_different;
  int64_t different = 0;
  for (size_t b = static_cast<size_t>(o.shard.index - 1); b < batches.size(); b += static_cast<size_t>(o.shard.count)) {
    bool needed = false;
    for (size_t i : batches[b]) {
      const GalleryImage& im = plan.images[i];
      ++result.images_owned;
      const Existing existing = o.force ? Existing{} : inspect(o.output / im.file, plan, im, o.readout);
      if (existing.state == OnDisk::different && different++ == 0) {
        const int64_t best_of = plan.manifest.entries[im.entry].best_of;
        const std::string asked = cat(settings_line(im.parameters),
                                      best_of > 1 ? cat(", best of ", best_of, " rated by ", score_readout_name(o.readout)) : "");
        first_different = cat((o.output / im.file).string(), " was rendered with other settings (found \"", existing.found,
                              "\", the manifest asks for \"", asked, "\")");
      }
      if (existing.state == OnDisk::done) {
        ++result.already_present;
      } else {
        missing[i] = true;
        if (plan.manifest.entries[im.entry].best_of == 1) g.jobs[g.first_job[i]].file = o.output / im.file;
        needed = true;
      }
    }
    if (needed) todo.push_back(batches[b]);
  }
  if (different > 0) {
    throw Error(cat(first_different, different > 1 ? cat("; so were ", different - 1, " more images") : "",
                    "; rerun with --force to render them again, or choose another -o/--output folder"));
  }
  return todo;
}

// Batches of plan images -> batches of their jobs (every candidate of an image in its image's batch).
std::vector<std::vector<size_t>> job_batches(const std::vector<std::vector<size_t>>& image_batches, const GalleryJobs& g) {
  std::vector<std::vector<size_t>> out;
  for (const auto& batch : image_batches) {
    std::vector<size_t> jobs;
    for (size_t i : batch) {
      const size_t end = i + 1 < g.first_job.size() ? g.first_job[i + 1] : g.jobs.size();
      for (size_t j = g.first_job[i]; j < end; ++j) jobs.push_back(j);
    }
    out.push_back(std::move(jobs));
  }
  return out;
}

// Collects the candidates of best-of images as they are decoded and, when an image's last one is
// in, scores them and writes the best (if the image is missing on disk).
class BestOfWriter {
 public:
  BestOfWriter(const GalleryOptions& o, const GalleryPlan& plan, const GalleryJobs& g, const std::vector<bool>& missing,
               ImageRenderer& renderer)
      : o_(o), plan_(plan), g_(g), missing_(missing), renderer_(renderer) {}

  // Returns whether the job's image is complete now, and sets `written` when its file was written.
  bool add(const RenderedImage& im, bool& written) {
    const size_t i = g_.image_of[im.job];
    const size_t n = static_cast<size_t>(plan_.manifest.entries[plan_.images[i].entry].best_of);
    std::vector<io::RgbImage>& got = pending_[i];
    got.resize(n);
    got[im.job - g_.first_job[i]] = im.pixels;
    if (++count_[i] < n) return false;
    written = missing_[i];
    if (written) write(i, got);
    pending_.erase(i);
    count_.erase(i);
    return true;
  }

 private:
  void write(size_t i, const std::vector<io::RgbImage>& candidates) {
    const GalleryImage& im = plan_.images[i];
    const BestOfChoice choice = renderer_.choose_best(candidates, plan_.drawn_prompt(im.entry), o_.readout);
    nlohmann::json list = nlohmann::json::array();
    for (size_t k = 0; k < candidates.size(); ++k) {
      list.push_back({{"seed", g_.jobs[g_.first_job[i] + k].seed}, {"score", choice.scores[k]}});
    }
    const nlohmann::json note = {{"seed", im.seed}, {"readout", score_readout_name(o_.readout)}, {"chosen", choice.chosen},
                                 {"candidates", list}};
    const ImageJob& winner = g_.jobs[g_.first_job[i] + choice.chosen];
    std::vector<std::pair<std::string, std::string>> text = {{"parameters", renderer_.parameters(winner)},
                                                             {"best_of", note.dump()}};
    text.insert(text.end(), winner.text.begin(), winner.text.end());
    const io::RgbImage& best = candidates[choice.chosen];
    io::write_png(o_.output / im.file, best.pixels.data(), best.width, best.height, text);
  }

  const GalleryOptions& o_;
  const GalleryPlan& plan_;
  const GalleryJobs& g_;
  const std::vector<bool>& missing_;
  ImageRenderer& renderer_;
  std::map<size_t, std::vector<io::RgbImage>> pending_;
  std::map<size_t, size_t> count_;
};

// The part of a run that works in the folder, under the run lock.
void render_locked(const GalleryOptions& o, const GalleryPlan& plan, ImageRenderer& renderer, GalleryResult& result) {
  std::vector<ImageSettings> settings;
  for (const auto& im : plan.images) settings.push_back(plan.manifest.entries[im.entry].settings);
  const std::vector<std::vector<size_t>> batches = plan_batches(settings, o.batch);

  RunLock run(o.output, plan);
  GalleryJobs g = gallery_jobs(plan);
  std::vector<bool> missing(plan.images.size(), false);
  // Memory may cut a planned batch (the unit shards and resumes agree on) into parts; parts whose
  // images are all on disk already need no work.
  const auto todo_images = work_to_do(o, plan, batches, g, missing, result);
  std::vector<std::vector<size_t>> todo;
  for (auto& part : renderer.fit_to_memory(g.jobs, job_batches(todo_images, g))) {
    if (std::any_of(part.begin(), part.end(), [&](size_t j) { return missing[g.image_of[j]]; })) todo.push_back(std::move(part));
  }
  if (result.already_present > 0) {
    log::info("gallery: ", result.already_present, " of ", result.images_owned, " images already present in ", o.output.string());
  }
  RenderStats stats;
  if (!todo.empty()) {
    int64_t computed = 0;
    for (const auto& b : todo) computed += static_cast<int64_t>(b.size());
    ProgressBar bar(computed, "gallery", "img");
    int64_t finished = 0;
    BestOfWriter best_of(o, plan, g, missing, renderer);
    RenderCallbacks callbacks;
    callbacks.on_step = [&](const RenderStatus& s) {
      bar.set_postfix(cat("batch ", s.batch, "/", s.batches));
      bar.update(finished, static_cast<double>(s.step) / static_cast<double>(s.steps) * static_cast<double>(s.batch_images));
    };
    callbacks.on_image = [&](const RenderedImage& im) {
      ++finished;
      bar.update(finished);
      const size_t i = g.image_of[im.job];
      bool written = im.written, complete = true;
      if (plan.manifest.entries[plan.images[i].entry].best_of > 1) complete = best_of.add(im, written);
      if (!complete) return;
      ++(written ? result.rendered : result.recomputed);
      if (written) log::debug("wrote ", (o.output / plan.images[i].file).string());
    };
    callbacks.on_batch = [&](const RenderStatus&) { update_index(o.output, plan, /*final_rebuild=*/false); };
    stats = renderer.render(g.jobs, todo, callbacks);
    bar.finish();
  }
  result.batches = static_cast<int64_t>(todo.size());
  result.seconds = stats.seconds;
  result.images_per_minute = rate(60.0 * static_cast<double>(result.rendered + result.recomputed), stats.seconds);
  result.tokens_per_second = stats.tokens_per_second;

  update_index(o.output, plan, /*final_rebuild=*/true, &result.images_present);
  run.finish();
  result.temporaries_removed = run.removed();
  if (result.temporaries_removed > 0) {
    log::info("gallery: removed ", result.temporaries_removed, " unfinished temporary files left by an interrupted run");
  }
}

// Every entry's plan (empty for entries without "plan"): by the --planner model, run and freed
// before the Janus model loads, or by the Janus model's own language model.
std::vector<std::string> external_plans(const GalleryOptions& o, const GalleryManifest& manifest) {
  std::vector<std::string> prompts;
  for (const auto& e : manifest.entries) {
    if (e.plan) prompts.push_back(e.prompt);
  }
  std::vector<std::string> made = plan_with_model(*o.planner, prompts, o.plan_tokens), plans;
  size_t next = 0;
  for (const auto& e : manifest.entries) plans.push_back(e.plan ? made.at(next++) : std::string());
  return plans;
}

}  // namespace

GalleryResult render_gallery(const GalleryOptions& o) {
  // Everything that can be wrong with the input is checked before the folder is created.
  if (o.output.empty()) throw UsageError("-o/--output: give the gallery folder");
  if (o.batch < 0) throw UsageError("--batch must be >= 0 (0 = all images with the same settings at once)");
  if (o.shard.count < 1 || o.shard.index < 1 || o.shard.index > o.shard.count) {
    throw UsageError(cat("--shard: ", o.shard.index, "/", o.shard.count, " must have 1 <= i <= n"));
  }
  ManifestDefaults defaults = o.defaults;
  defaults.model = default_image_settings(o.model);
  GalleryManifest manifest = load_manifest(o.manifest, defaults);
  const bool planning = manifest.any_plan();
  if (o.planner && !planning) throw UsageError("--planner needs --plan (or \"plan\": true in the manifest)");
  if (o.plan_tokens < 1) throw UsageError("--plan-tokens must be at least 1");
  std::error_code ec;
  if (fs::exists(o.output, ec) && !fs::is_directory(o.output, ec)) {
    throw FileError(o.output.string(), "exists and is not a folder; -o/--output names the gallery folder");
  }
  std::vector<std::string> plans;
  if (planning && o.planner) plans = external_plans(o, manifest);
  ImageRenderer renderer(o.model, {.understanding = manifest.any_best_of() || (planning && !o.planner)});
  if (planning && !o.planner) {
    for (const auto& e : manifest.entries) plans.push_back(e.plan ? renderer.plan(e.prompt, o.plan_tokens) : std::string());
  }
  for (size_t e = 0; e < plans.size(); ++e) {
    if (manifest.entries[e].plan) log::info("plan for \"", manifest.entries[e].prompt, "\": ", plans[e]);
  }
  check_prompts(renderer, manifest, plans, o.manifest);
  const std::string planner = !planning ? "" : o.planner ? o.planner->model : renderer.model_info().name;
  const GalleryPlan plan = plan_gallery(std::move(manifest), renderer.model_info(), std::move(plans), planner);

  GalleryResult result;
  result.dir = o.output;
  result.model = plan.model.name;
  result.shard = o.shard;
  result.images_total = static_cast<int64_t>(plan.images.size());
  const bool created = !fs::exists(o.output, ec);
  fs::create_directories(o.output, ec);
  if (ec) throw FileError(o.output.string(), cat("cannot create the gallery folder: ", ec.message()));
  try {
    render_locked(o, plan, renderer, result);
  } catch (...) {
    // A run that fails before its first image leaves no empty folder of its own making behind.
    if (created && fs::is_empty(o.output, ec)) fs::remove(o.output, ec);
    throw;
  }
  return result;
}

std::string gallery_summary(const GalleryResult& r) {
  auto images = [](int64_t n) { return cat(n, n == 1 ? " image" : " images"); };
  const std::string who = r.shard.count > 1 ? cat("shard ", r.shard.index, "/", r.shard.count, ": ") : "";
  std::string out;
  if (r.batches == 0) {
    out = cat("gallery: ", who, "nothing to render, all ", images(r.images_owned), " are present\n");
  } else {
    const double per_minute = std::round(r.images_per_minute * 10) / 10;
    out = cat("gallery: ", who, "rendered ", images(r.rendered), " in ", format_seconds(r.seconds), " (", per_minute,
              " images/min, ", format_rate(r.tokens_per_second, "tok"), ")");
    if (r.already_present > 0) out += cat("; ", images(r.already_present), " already present");
    // Present images that share a batch with missing ones are computed again but not rewritten.
    if (r.recomputed > 0) out += cat("; ", images(r.recomputed), " recomputed in a batch with missing ones, kept as they were");
    out += "\n";
  }
  const fs::path dir = r.dir;
  out += cat("gallery: ", dir.string(), " holds ", r.images_present, " of ", images(r.images_total));
  if (!r.complete()) out += r.shard.count > 1 ? " (the rest belong to other shards, or are still being rendered)" : " (rerun to finish)";
  out += cat("\n", (dir / kGalleryHtml).string(), "\n");
  if (r.images_present > 0) out += cat((dir / kContactSheet).string(), "\n");
  return out;
}

}  // namespace januskit::pipelines
