#include "pipelines/gallery_site.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "io/atomic_file.hpp"
#include "io/contact_sheet.hpp"
#include "io/image.hpp"
#include "io/png.hpp"

namespace januskit::pipelines {
namespace {

// Sheets stay readable for tiny models (captions need ~128 px) and bounded for big galleries.
constexpr int64_t kMinTile = 128;
constexpr int64_t kMaxGalleryTile = 256;
constexpr int64_t kMaxSheetWidth = 8192;
constexpr int64_t kMaxRowPerEntry = 16;

std::string entry_sheet(const GalleryEntry& e) { return e.name + "/" + kContactSheet; }

// Columns for n tiles: a single row up to 4, then close to square but never fewer than 4 columns.
int64_t columns_for(int64_t n) {
  const auto root = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  return std::min(n, std::max<int64_t>(4, root));
}

std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string settings_text(const ImageSettings& s) {
  return cat("CFG ", s.cfg, " · temperature ", s.temperature, " · top-k ", s.top_k > 0 ? cat(s.top_k) : "off");
}

// The images of one entry present on disk, and their total.
struct EntryCounts {
  int64_t planned = 0, present = 0;
};

std::vector<EntryCounts> entry_counts(const GalleryPlan& plan, const std::vector<bool>& present) {
  std::vector<EntryCounts> counts(plan.manifest.entries.size());
  for (size_t i = 0; i < plan.images.size(); ++i) {
    ++counts[plan.images[i].entry].planned;
    if (present[i]) ++counts[plan.images[i].entry].present;
  }
  return counts;
}

int64_t count_present(const std::vector<bool>& present) {
  return static_cast<int64_t>(std::count(present.begin(), present.end(), true));
}

// Loads the present images of `indices` for a sheet; an image that no longer decodes (damaged after
// it was written) is left out with a warning rather than failing the whole run.
void collect(const std::filesystem::path& dir, const GalleryPlan& plan, const std::vector<size_t>& indices,
             bool with_name, std::vector<io::RgbImage>& images, std::vector<std::string>& captions) {
  for (size_t i : indices) {
    const GalleryImage& im = plan.images[i];
    try {
      images.push_back(io::load_rgb(dir / im.file));
    } catch (const Error& e) {
      log::warn("contact sheet: leaving out ", im.file, ": ", e.what());
      continue;
    }
    // Entry names are ASCII (the sheet's Hershey font has nothing else) and short enough for a tile.
    captions.push_back(with_name ? cat(plan.manifest.entries[im.entry].name, ", seed ", im.seed) : cat("seed ", im.seed));
  }
}

void write_sheet(const std::filesystem::path& file, const std::vector<io::RgbImage>& images,
                 const std::vector<std::string>& captions, io::SheetOptions options) {
  if (images.empty()) return;
  options.captions = true;
  io::RgbImage sheet = io::make_contact_sheet(images, captions, options);
  io::write_png(file, sheet.pixels.data(), sheet.width, sheet.height);
}

void write_contact_sheets(const std::filesystem::path& dir, const GalleryPlan& plan, const std::vector<bool>& present) {
  const auto& entries = plan.manifest.entries;
  std::vector<std::vector<size_t>> by_entry(entries.size());
  std::vector<size_t> all;
  for (size_t i = 0; i < plan.images.size(); ++i) {
    if (!present[i]) continue;
    by_entry[plan.images[i].entry].push_back(i);
    all.push_back(i);
  }
  for (size_t e = 0; e < entries.size(); ++e) {
    if (by_entry[e].empty()) continue;
    std::vector<io::RgbImage> images;
    std::vector<std::string> captions;
    collect(dir, plan, by_entry[e], /*with_name=*/false, images, captions);
    io::SheetOptions o;
    o.columns = columns_for(static_cast<int64_t>(entries[e].seeds.size()));
    o.tile = std::max(plan.model.size, kMinTile);
    write_sheet(dir / entry_sheet(entries[e]), images, captions, o);
  }
  if (all.empty()) return;
  // One row per entry when every entry has the same, modest number of images (a prompt x seed table).
  const size_t first_count = entries.front().seeds.size();
  const bool table = std::all_of(entries.begin(), entries.end(), [&](const GalleryEntry& e) { return e.seeds.size() == first_count; }) &&
                     first_count <= static_cast<size_t>(kMaxRowPerEntry);
  io::SheetOptions o;
  o.columns = table ? static_cast<int64_t>(first_count) : columns_for(static_cast<int64_t>(plan.images.size()));
  o.tile = std::clamp(plan.model.size, kMinTile, kMaxGalleryTile);
  o.tile = std::min(o.tile, std::max<int64_t>(64, (kMaxSheetWidth - o.padding) / o.columns - o.padding));
  std::vector<io::RgbImage> images;
  std::vector<std::string> captions;
  collect(dir, plan, all, /*with_name=*/true, images, captions);
  write_sheet(dir / kContactSheet, images, captions, o);
}

constexpr const char* kStyle = R"CSS(
:root { color-scheme: light dark; --bg: #f7f7f8; --fg: #1d1d1f; --muted: #6b6b72; --card: #fff; --line: #e2e2e6; --accent: #2f6fde; }
@media (prefers-color-scheme: dark) { :root { --bg: #161618; --fg: #ececf0; --muted: #9b9ba4; --card: #212126; --line: #33333a; --accent: #86adff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
header { position: sticky; top: 0; z-index: 2; background: var(--bg); border-bottom: 1px solid var(--line);
         padding: 12px 20px; display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: baseline; }
h1 { font-size: 20px; margin: 0; }
.summary, .status, .settings { color: var(--muted); font-size: 13px; }
.status:empty { display: none; }
.status.bad { color: #d33; }
#filter { margin-left: auto; padding: 6px 10px; min-width: 220px; border: 1px solid var(--line); border-radius: 6px;
          background: var(--card); color: var(--fg); font: inherit; }
main { padding: 4px 20px 48px; }
section { margin-top: 22px; }
h2 { font-size: 16px; margin: 0; }
.prompt { margin: 2px 0; overflow-wrap: anywhere; }
.settings { margin: 0 0 10px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
figure a { display: block; cursor: zoom-in; }
figure img, .missing { display: block; width: 100%; height: auto; aspect-ratio: 1; object-fit: contain; }
.pixelated img, .pixelated #viewer img { image-rendering: pixelated; }
figcaption { padding: 5px 8px; font-size: 12px; color: var(--muted); }
.missing { display: grid; place-items: center; color: var(--muted); font-size: 12px;
           background: repeating-linear-gradient(45deg, transparent 0 8px, var(--line) 8px 9px); }
.hidden { display: none !important; }
#viewer { position: fixed; inset: 0; z-index: 5; display: none; flex-direction: column; align-items: center;
          justify-content: center; gap: 12px; padding: 16px; background: rgba(0, 0, 0, .88); }
#viewer.open { display: flex; }
#viewer img { width: min(92vw, 74vh); height: auto; aspect-ratio: 1; object-fit: contain; background: #000; }
#viewer pre { margin: 0; max-width: min(92vw, 960px); max-height: 18vh; overflow: auto; color: #eee;
              white-space: pre-wrap; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
#viewer button { position: absolute; border: 0; border-radius: 6px; padding: 8px 14px; font-size: 22px; line-height: 1;
                 color: #fff; background: rgba(255, 255, 255, .14); cursor: pointer; }
#viewer .close { top: 12px; right: 12px; }
#viewer .prev { left: 12px; top: 50%; }
#viewer .next { right: 12px; top: 50%; }
@media (max-width: 560px) { header { padding: 10px 12px; } main { padding: 4px 12px 40px; } #filter { margin-left: 0; width: 100%; }
                            .grid { grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 8px; } }
)CSS";

// Click to enlarge (arrows step through the visible images, Escape closes; the address gets
// #image=FILE, so a view can be linked), a filter over names, prompts and seeds, and a load check that
// marks <body data-images-loaded/-broken> for tests and shows broken images in the header.
constexpr const char* kScript = R"JS(
(function () {
  var figures = Array.prototype.slice.call(document.querySelectorAll('figure[data-file]'));
  var sections = Array.prototype.slice.call(document.querySelectorAll('main section'));
  var viewer = document.getElementById('viewer');
  var big = viewer.querySelector('img');
  var text = viewer.querySelector('pre');
  var current = null;
  function visible() {
    return figures.filter(function (f) { return !f.classList.contains('hidden') && !f.closest('section').classList.contains('hidden'); });
  }
  function show(f) {
    current = f;
    big.src = f.getAttribute('data-file');
    big.alt = f.querySelector('img').alt;
    text.textContent = f.getAttribute('data-parameters');
    viewer.classList.add('open');
    history.replaceState(null, '', '#image=' + f.getAttribute('data-file'));
  }
  function close() {
    viewer.classList.remove('open');
    current = null;
    history.replaceState(null, '', location.pathname + location.search);
  }
  function fromHash() {
    var m = /^#image=(.+)$/.exec(location.hash);
    var f = m && figures.filter(function (g) { return g.getAttribute('data-file') === decodeURIComponent(m[1]); })[0];
    if (f) show(f);
  }
  function step(d) {
    var v = visible(), i = v.indexOf(current);
    if (i >= 0 && v.length) show(v[(i + d + v.length) % v.length]);
  }
  figures.forEach(function (f) {
    f.querySelector('a').addEventListener('click', function (e) { e.preventDefault(); show(f); });
  });
  viewer.addEventListener('click', function (e) { if (e.target === viewer || e.target === big) close(); });
  viewer.querySelector('.close').addEventListener('click', close);
  viewer.querySelector('.prev').addEventListener('click', function () { step(-1); });
  viewer.querySelector('.next').addEventListener('click', function () { step(1); });
  document.addEventListener('keydown', function (e) {
    if (!current) return;
    if (e.key === 'Escape') close();
    else if (e.key === 'ArrowRight') step(1);
    else if (e.key === 'ArrowLeft') step(-1);
  });
  var filter = document.getElementById('filter');
  filter.addEventListener('input', function () {
    var q = filter.value.trim().toLowerCase();
    sections.forEach(function (s) {
      var inSection = !q || s.getAttribute('data-search').indexOf(q) >= 0, any = false;
      s.querySelectorAll('figure').forEach(function (f) {
        var hit = inSection || ('seed ' + f.getAttribute('data-seed')).indexOf(q) >= 0;
        f.classList.toggle('hidden', !hit);
        any = any || hit;
      });
      s.classList.toggle('hidden', !any);
    });
  });
  fromHash();
  window.addEventListener('load', function () {
    var imgs = Array.prototype.slice.call(document.querySelectorAll('main img'));
    var loaded = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
    document.body.setAttribute('data-images-loaded', String(loaded));
    document.body.setAttribute('data-images-broken', String(imgs.length - loaded));
    if (loaded < imgs.length) {
      var status = document.getElementById('status');
      status.textContent = (imgs.length - loaded) + ' of ' + imgs.length + ' images failed to load';
      status.classList.add('bad');
    }
  });
})();
)JS";

}  // namespace

const std::string& GalleryPlan::drawn_prompt(size_t e) const {
  return manifest.entries.at(e).plan ? plans.at(e) : manifest.entries.at(e).prompt;
}

uint64_t candidate_seed(uint64_t seed, int64_t k) { return seed + (static_cast<uint64_t>(k) << 32); }

GalleryPlan plan_gallery(GalleryManifest manifest, const ImageModelInfo& model, std::vector<std::string> plans,
                         std::string planner) {
  if (!plans.empty() && plans.size() != manifest.entries.size()) throw Error("gallery plan: one plan per entry expected");
  if (plans.empty() && manifest.any_plan()) throw Error("gallery plan: entries ask for plans, none were given");
  GalleryPlan plan{std::move(manifest), model, {}, std::move(plans), std::move(planner)};
  for (size_t e = 0; e < plan.manifest.entries.size(); ++e) {
    const GalleryEntry& entry = plan.manifest.entries[e];
    for (uint64_t seed : entry.seeds) {
      plan.images.push_back({e, seed, cat(entry.name, "/", seed, ".png"),
                             image_parameters(plan.drawn_prompt(e), seed, entry.settings, model), {}});
    }
  }
  return plan;
}

std::vector<bool> images_present(const std::filesystem::path& dir, const GalleryPlan& plan) {
  std::vector<bool> present;
  present.reserve(plan.images.size());
  std::error_code ec;
  for (const auto& im : plan.images) present.push_back(std::filesystem::is_regular_file(dir / im.file, ec));
  return present;
}

std::string gallery_json(const GalleryPlan& plan, const std::vector<bool>& present, bool sheets) {
  using nlohmann::ordered_json;
  const auto counts = entry_counts(plan, present);
  const int64_t total = static_cast<int64_t>(plan.images.size()), have = count_present(present);
  ordered_json doc;
  doc["format"] = "januskit-gallery-1";
  doc["title"] = plan.manifest.title;
  doc["model"] = {{"name", plan.model.name}, {"steps", plan.model.steps}, {"size", plan.model.size}};
  doc["images_total"] = total;
  doc["images_present"] = have;
  doc["complete"] = have == total;
  if (sheets && have > 0) doc["contact_sheet"] = kContactSheet;
  ordered_json entries = ordered_json::array();
  for (size_t e = 0; e < plan.manifest.entries.size(); ++e) {
    const GalleryEntry& entry = plan.manifest.entries[e];
    ordered_json j = {{"name", entry.name},
                      {"prompt", entry.prompt},
                      {"cfg", entry.settings.cfg},
                      {"temperature", entry.settings.temperature},
                      {"top_k", entry.settings.top_k},
                      {"seeds", entry.seeds},
                      {"images_present", counts[e].present}};
    if (entry.plan) j["plan"] = plan.plans[e];
    if (entry.best_of > 1) j["best_of"] = entry.best_of;
    if (sheets && counts[e].present > 0) j["contact_sheet"] = entry_sheet(entry);
    entries.push_back(std::move(j));
  }
  doc["entries"] = std::move(entries);
  ordered_json images = ordered_json::array();
  for (size_t i = 0; i < plan.images.size(); ++i) {
    if (!present[i]) continue;
    const GalleryImage& im = plan.images[i];
    const GalleryEntry& entry = plan.manifest.entries[im.entry];
    ordered_json j = {{"file", im.file},
                      {"entry", entry.name},
                      {"prompt", entry.prompt},
                      {"seed", im.seed},
                      {"cfg", entry.settings.cfg},
                      {"temperature", entry.settings.temperature},
                      {"top_k", entry.settings.top_k},
                      {"parameters", im.parameters}};
    if (entry.plan) j["plan"] = plan.plans[im.entry];
    if (!im.best_of.empty()) j["best_of"] = ordered_json::parse(im.best_of);
    images.push_back(std::move(j));
  }
  doc["images"] = std::move(images);
  return doc.dump(2) + "\n";
}

std::string gallery_html(const GalleryPlan& plan, const std::vector<bool>& present, bool sheets) {
  const auto counts = entry_counts(plan, present);
  const int64_t total = static_cast<int64_t>(plan.images.size()), have = count_present(present);
  const std::string size = cat(plan.model.size, "×", plan.model.size);
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"januskit\">\n";
  h += cat("<title>", escape_html(plan.manifest.title), "</title>\n<style>", kStyle, "</style>\n</head>\n");
  // Small images are scaled up in the grid: keep their pixels sharp instead of blurring them.
  h += cat("<body", plan.model.size < 150 ? " class=\"pixelated\"" : "", " data-images-total=\"", have, "\">\n");
  h += cat("<header>\n<h1>", escape_html(plan.manifest.title), "</h1>\n<span class=\"summary\">", have, " of ", total,
           " images · model ", escape_html(plan.model.name), " · ", size, " px · ", plan.model.steps, " steps");
  if (sheets && have > 0) h += cat(" · <a href=\"", kContactSheet, "\">contact sheet</a>");
  h += cat(" · <a href=\"", kGalleryJson, "\">", kGalleryJson, "</a></span>\n");
  h += "<span class=\"status\" id=\"status\"></span>\n";
  h += "<input id=\"filter\" type=\"search\" placeholder=\"Filter: name, prompt, seed\" aria-label=\"Filter\">\n</header>\n<main>\n";
  for (size_t e = 0; e < plan.manifest.entries.size(); ++e) {
    const GalleryEntry& entry = plan.manifest.entries[e];
    h += cat("<section id=\"entry-", entry.name, "\" data-search=\"", escape_html(lower_ascii(entry.name + " " + entry.prompt)),
             "\">\n<h2>", escape_html(entry.name), "</h2>\n<p class=\"prompt\">", escape_html(entry.prompt), "</p>\n");
    h += cat("<p class=\"settings\">", settings_text(entry.settings), " · ", counts[e].present, " of ", counts[e].planned, " images");
    if (sheets && counts[e].present > 0) h += cat(" · <a href=\"", entry_sheet(entry), "\">contact sheet</a>");
    h += "</p>\n<div class=\"grid\">\n";
    for (size_t i = 0; i < plan.images.size(); ++i) {
      const GalleryImage& im = plan.images[i];
      if (im.entry != e) continue;
      if (!present[i]) {
        h += cat("<figure data-seed=\"", im.seed, "\"><div class=\"missing\">not rendered yet</div><figcaption>seed ", im.seed,
                 "</figcaption></figure>\n");
        continue;
      }
      h += cat("<figure data-file=\"", im.file, "\" data-seed=\"", im.seed, "\" data-parameters=\"", escape_html(im.parameters),
               "\"><a href=\"", im.file, "\"><img src=\"", im.file, "\" width=\"", plan.model.size, "\" height=\"",
               plan.model.size, "\" alt=\"", escape_html(cat(entry.prompt, " (seed ", im.seed, ")")),
               "\"></a><figcaption>seed ", im.seed, "</figcaption></figure>\n");
    }
    h += "</div>\n</section>\n";
  }
  h += "</main>\n<div id=\"viewer\" role=\"dialog\" aria-label=\"Image viewer\">\n<img alt=\"\">\n<pre></pre>\n";
  h += "<button class=\"close\" title=\"Close (Esc)\">×</button><button class=\"prev\" title=\"Previous (←)\">‹</button>";
  h += "<button class=\"next\" title=\"Next (→)\">›</button>\n</div>\n";
  h += cat("<script>", kScript, "</script>\n</body>\n</html>\n");
  return h;
}

void write_gallery_index(const std::filesystem::path& dir, const GalleryPlan& plan, const std::vector<bool>& present,
                         bool sheets) {
  if (sheets) write_contact_sheets(dir, plan, present);
  // A best-of image's parameters name the candidate that won, known only from its file.
  GalleryPlan shown = plan;
  for (size_t i = 0; i < shown.images.size(); ++i) {
    GalleryImage& im = shown.images[i];
    if (!present[i] || shown.manifest.entries[im.entry].best_of <= 1) continue;
    const auto text = io::read_png_text(dir / im.file);
    const auto parameters = text.find("parameters"), best_of = text.find("best_of");
    if (parameters == text.end() || best_of == text.end() || !nlohmann::json::accept(best_of->second)) {
      throw FileError((dir / im.file).string(), "a best-of image without its parameters and best_of record");
    }
    im.parameters = parameters->second;
    im.best_of = best_of->second;
  }
  io::write_file_atomically(dir / kGalleryJson, gallery_json(shown, present, sheets));
  io::write_file_atomically(dir / kGalleryHtml, gallery_html(shown, present, sheets));
}

bool is_gallery_output_name(const std::string& name, bool in_entry_folder) {
  if (name == kContactSheet) return true;
  if (!in_entry_folder) return name == kGalleryJson || name == kGalleryHtml;
  const size_t dot = name.size() >= 5 ? name.size() - 4 : 0;
  return dot > 0 && name.compare(dot, 4, ".png") == 0 &&
         std::all_of(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(dot), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace januskit::pipelines
