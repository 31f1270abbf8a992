#include "pipelines/render_gallery.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/timer.hpp"
#include "io/file_lock.hpp"
#include "io/png.hpp"
#include "pipelines/gallery_site.hpp"
#include "pipelines/image_renderer.hpp"

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
  std::string found;  // the parameters found, for `different`
};

Existing inspect(const fs::path& file, const std::string& expected) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  try {
    auto text = io::read_png_text(file);
    auto it = text.find("parameters");
    if (it == text.end()) return {OnDisk::different, "(no parameters)"};
    if (parameters_without_version(it->second) == parameters_without_version(expected)) return {OnDisk::done, {}};
    return {OnDisk::different, it->second};
  } catch (const Error& e) {
    log::warn(e.what(), "; rendering it again");
    return {OnDisk::damaged, {}};
  }
}

// "Steps: 16, CFG scale: 7, ..., Model: m" — the settings line of a parameters text.
std::string settings_line(std::string_view parameters) {
  std::string_view stem = parameters_without_version(parameters);
  const size_t nl = stem.rfind('\n');
  return std::string(nl == std::string_view::npos ? stem : stem.substr(nl + 1));
}

void check_prompts(const ImageRenderer& renderer, const GalleryManifest& manifest, const fs::path& source) {
  for (const auto& e : manifest.entries) {
    try {
      renderer.check_prompt(e.prompt);
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

// This shard's batches that still have images to write; marks those images in `jobs` (a file to
// write) and counts what is already there. A PNG made with other settings stops the run.
std::vector<std::vector<size_t>> work_to_do(const GalleryOptions& o, const GalleryPlan& plan,
                                            const std::vector<std::vector<size_t>>& batches, std::vector<ImageJob>& jobs,
                                            GalleryResult& result) {
  std::vector<std::vector<size_t>> todo;
  std::string first_different;
  int64_t different = 0;
  for (size_t b = static_cast<size_t>(o.shard.index - 1); b < batches.size(); b += static_cast<size_t>(o.shard.count)) {
    bool needed = false;
    for (size_t i : batches[b]) {
      const GalleryImage& im = plan.images[i];
      const GalleryEntry& entry = plan.manifest.entries[im.entry];
      jobs[i] = {entry.prompt, im.seed, entry.settings, {}};
      ++result.images_owned;
      const Existing existing = o.force ? Existing{} : inspect(o.output / im.file, im.parameters);
      if (existing.state == OnDisk::different && different++ == 0) {
        first_different = cat((o.output / im.file).string(), " was rendered with other settings (found \"",
                              settings_line(existing.found), "\", the manifest asks for \"", settings_line(im.parameters), "\")");
      }
      if (existing.state == OnDisk::done) {
        ++result.already_present;
      } else {
        jobs[i].file = o.output / im.file;
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

// The part of a run that works in the folder, under the run lock.
void render_locked(const GalleryOptions& o, const GalleryPlan& plan, ImageRenderer& renderer, GalleryResult& result) {
  std::vector<ImageSettings> settings;
  for (const auto& im : plan.images) settings.push_back(plan.manifest.entries[im.entry].settings);
  const std::vector<std::vector<size_t>> batches = plan_batches(settings, o.batch);

  RunLock run(o.output, plan);
  std::vector<ImageJob> jobs(plan.images.size());
  // Memory may cut a planned batch (the unit shards and resumes agree on) into parts; parts whose
  // images are all on disk already need no work.
  std::vector<std::vector<size_t>> todo;
  for (auto& part : renderer.fit_to_memory(jobs, work_to_do(o, plan, batches, jobs, result))) {
    if (std::any_of(part.begin(), part.end(), [&](size_t i) { return !jobs[i].file.empty(); })) todo.push_back(std::move(part));
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
    RenderCallbacks callbacks;
    callbacks.on_step = [&](const RenderStatus& s) {
      bar.set_postfix(cat("batch ", s.batch, "/", s.batches));
      bar.update(finished, static_cast<double>(s.step) / static_cast<double>(s.steps) * static_cast<double>(s.batch_images));
    };
    callbacks.on_image = [&](const RenderedImage& im) {
      ++finished;
      bar.update(finished);
      if (im.written) log::debug("wrote ", jobs[im.job].file.string());
    };
    callbacks.on_batch = [&](const RenderStatus&) { update_index(o.output, plan, /*final_rebuild=*/false); };
    stats = renderer.render(jobs, todo, callbacks);
    bar.finish();
  }
  result.rendered = stats.written;
  result.recomputed = stats.images - stats.written;
  result.batches = static_cast<int64_t>(todo.size());
  result.seconds = stats.seconds;
  result.images_per_minute = rate(60.0 * static_cast<double>(stats.images), stats.seconds);
  result.tokens_per_second = stats.tokens_per_second;

  update_index(o.output, plan, /*final_rebuild=*/true, &result.images_present);
  run.finish();
  result.temporaries_removed = run.removed();
  if (result.temporaries_removed > 0) {
    log::info("gallery: removed ", result.temporaries_removed, " unfinished temporary files left by an interrupted run");
  }
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
  std::error_code ec;
  if (fs::exists(o.output, ec) && !fs::is_directory(o.output, ec)) {
    throw FileError(o.output.string(), "exists and is not a folder; -o/--output names the gallery folder");
  }
  ImageRenderer renderer(o.model);
  check_prompts(renderer, manifest, o.manifest);
  const GalleryPlan plan = plan_gallery(std::move(manifest), renderer.model_info());

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
