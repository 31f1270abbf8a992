#include "pipelines/gallery_manifest.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "core/error.hpp"

namespace januskit::pipelines {
namespace {

using nlohmann::json;

const std::set<std::string> kTopKeys = {"title", "defaults", "entries"};
const std::set<std::string> kDefaultKeys = {"count", "seeds", "seed_start", "cfg", "temperature", "top_k", "best_of",
                                            "plan"};
const std::set<std::string> kEntryKeys = {"prompt", "name", "count", "seeds", "seed_start", "cfg", "temperature",
                                          "top_k", "best_of", "plan"};

std::string join(const std::set<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// Where a problem is: the manifest file plus the object ("defaults", `entries[2] (name "red")`).
struct Where {
  const std::string& source;
  std::string object;

  [[noreturn]] void fail(std::string_view field, std::string_view problem) const {
    std::string prefix = object.empty() ? "" : object + ": ";
    if (!field.empty()) prefix += std::string(field) + ": ";
    throw FileError(source, prefix + std::string(problem));
  }
};

// A short, one-line rendering of a prompt for messages.
std::string quoted_prompt(std::string_view prompt) {
  constexpr size_t kShown = 32;
  std::string s(prompt.substr(0, kShown));
  std::replace(s.begin(), s.end(), '\n', ' ');
  return json(prompt.size() > kShown ? s + "..." : s).dump(-1, ' ', false, json::error_handler_t::replace);
}

void check_keys(const json& obj, const std::set<std::string>& allowed, const Where& where) {
  for (const auto& [key, value] : obj.items()) {
    if (key.rfind('_', 0) == 0 || allowed.count(key) > 0) continue;
    where.fail("", cat("unknown field \"", key, "\"; allowed: ", join(allowed), " (keys starting with _ are comments)"));
  }
}

// An integer (JSON integers, or floats with an integral value such as 4.0) as a signed 128-bit-safe
// pair: sign and magnitude, so that seeds up to 2^64 - 1 and negative counts are both reported exactly.
struct Integer {
  bool negative = false;
  uint64_t magnitude = 0;
};

std::optional<Integer> as_integer(const json& v) {
  if (v.is_number_unsigned()) return Integer{false, v.get<uint64_t>()};
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return i < 0 ? Integer{true, static_cast<uint64_t>(-(i + 1)) + 1} : Integer{false, static_cast<uint64_t>(i)};
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return d < 0 ? Integer{true, static_cast<uint64_t>(-d)} : Integer{false, static_cast<uint64_t>(d)};
    }
  }
  return std::nullopt;
}

std::optional<int64_t> count_field(const json& obj, const Where& where) {
  auto it = obj.find("count");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  std::optional<Integer> n = as_integer(*it);
  if (!n) where.fail("count", cat("expected a whole number of images, got ", it->dump()));
  if (n->negative || n->magnitude == 0) where.fail("count", cat("must be at least 1, got ", it->dump()));
  if (n->magnitude > static_cast<uint64_t>(kMaxImagesPerEntry)) {
    where.fail("count", cat(it->dump(), " is more than ", kMaxImagesPerEntry, " images for one entry; split it into several"));
  }
  return static_cast<int64_t>(n->magnitude);
}

uint64_t seed_value(const json& v, const Where& where, const std::string& field) {
  std::optional<Integer> n = as_integer(v);
  if (!n) where.fail(field, cat("expected a whole number, got ", v.dump()));
  if (n->negative) where.fail(field, cat(v.dump(), " is negative; seeds are whole numbers from 0 to 18446744073709551615"));
  return n->magnitude;
}

std::optional<uint64_t> seed_start_field(const json& obj, const Where& where) {
  auto it = obj.find("seed_start");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return seed_value(*it, where, "seed_start");
}

std::optional<std::vector<uint64_t>> seeds_field(const json& obj, const Where& where) {
  auto it = obj.find("seeds");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) where.fail("seeds", cat("expected a list of seeds such as [1, 2, 3], got ", it->dump()));
  if (it->empty()) where.fail("seeds", "the list is empty");
  if (it->size() > static_cast<size_t>(kMaxImagesPerEntry)) {
    where.fail("seeds", cat("more than ", kMaxImagesPerEntry, " seeds for one entry; split it into several"));
  }
  std::vector<uint64_t> seeds;
  std::set<uint64_t> seen;
  for (size_t i = 0; i < it->size(); ++i) {
    const uint64_t s = seed_value((*it)[i], where, cat("seeds[", i, "]"));
    if (!seen.insert(s).second) where.fail("seeds", cat("seed ", s, " is listed twice"));
    seeds.push_back(s);
  }
  return seeds;
}

std::optional<double> non_negative_number(const json& obj, const std::string& key, const Where& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) where.fail(key, cat("expected a number, got ", it->dump()));
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) where.fail(key, cat("must be a number >= 0, got ", it->dump()));
  return v;
}

std::optional<int64_t> top_k_field(const json& obj, const Where& where) {
  auto it = obj.find("top_k");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  std::optional<Integer> n = as_integer(*it);
  if (!n) where.fail("top_k", cat("expected a whole number (0 = off), got ", it->dump()));
  if (n->negative) where.fail("top_k", cat("must be >= 0 (0 = off), got ", it->dump()));
  return static_cast<int64_t>(std::min<uint64_t>(n->magnitude, std::numeric_limits<int32_t>::max()));
}

std::optional<int64_t> best_of_field(const json& obj, const Where& where) {
  auto it = obj.find("best_of");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  std::optional<Integer> n = as_integer(*it);
  if (!n || n->negative || n->magnitude < 1 || n->magnitude > static_cast<uint64_t>(kMaxBestOf)) {
    where.fail("best_of", cat("expected a whole number of candidates from 1 to ", kMaxBestOf, ", got ", it->dump()));
  }
  return static_cast<int64_t>(n->magnitude);
}

std::optional<bool> plan_field(const json& obj, const Where& where) {
  auto it = obj.find("plan");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) where.fail("plan", cat("expected true or false, got ", it->dump()));
  return it->get<bool>();
}

// The fields an entry and the defaults share, as written (unset = nullopt).
struct Fields {
  std::optional<int64_t> count;
  std::optional<std::vector<uint64_t>> seeds;
  std::optional<uint64_t> seed_start;
  ImageSettingsOverride settings;
  std::optional<int64_t> best_of;
  std::optional<bool> plan;
};

Fields read_fields(const json& obj, const Where& where) {
  Fields f;
  f.count = count_field(obj, where);
  f.seeds = seeds_field(obj, where);
  f.seed_start = seed_start_field(obj, where);
  f.settings.cfg = non_negative_number(obj, "cfg", where);
  f.settings.temperature = non_negative_number(obj, "temperature", where);
  f.settings.top_k = top_k_field(obj, where);
  f.best_of = best_of_field(obj, where);
  f.plan = plan_field(obj, where);
  if (f.seeds && f.seed_start) where.fail("seed_start", "set either seeds (a list) or seed_start (+ count), not both");
  if (f.seeds && f.count && *f.count != static_cast<int64_t>(f.seeds->size())) {
    where.fail("count", cat("count ", *f.count, " does not match the ", f.seeds->size(), " seeds listed; drop count"));
  }
  return f;
}

std::vector<uint64_t> sweep(uint64_t start, int64_t count, const Where& where) {
  if (static_cast<uint64_t>(count - 1) > std::numeric_limits<uint64_t>::max() - start) {
    where.fail("seed_start", cat("seed_start ", start, " + count ", count, " runs past the largest seed (2^64 - 1)"));
  }
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < count; ++i) seeds.push_back(start + static_cast<uint64_t>(i));
  return seeds;
}

// Entry fields over the manifest defaults over the CLI flags over the model's defaults.
void resolve(GalleryEntry& e, const Fields& f, const Fields& d, const ManifestDefaults& cli, const Where& where) {
  e.settings = f.settings.over(d.settings.over(cli.settings.over(cli.model)));
  e.best_of = f.best_of.value_or(d.best_of.value_or(cli.best_of.value_or(1)));
  e.plan = f.plan.value_or(d.plan.value_or(cli.plan.value_or(false)));
  if (f.seeds) {
    e.seeds = *f.seeds;
  } else if (f.seed_start) {
    e.seeds = sweep(*f.seed_start, f.count.value_or(d.count.value_or(cli.count.value_or(1))), where);
  } else if (d.seeds) {
    if (f.count && *f.count != static_cast<int64_t>(d.seeds->size())) {
      where.fail("count", cat("count ", *f.count, " does not match the ", d.seeds->size(),
                              " seeds of defaults.seeds; give this entry its own seeds or seed_start"));
    }
    e.seeds = *d.seeds;
  } else {
    e.seeds = sweep(d.seed_start.value_or(cli.seed_start.value_or(0)), f.count.value_or(d.count.value_or(cli.count.value_or(1))),
                    where);
  }
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

struct RawEntry {
  std::string origin;             // "entries[2]" or "line 7"
  std::string prompt;
  std::optional<std::string> name;
  Fields fields;
};

// Explicit names are reserved first, so a slug never takes a name that a later entry asks for.
void assign_names(std::vector<GalleryEntry>& entries, const std::vector<RawEntry>& raw, const std::string& source) {
  std::map<std::string, std::string> taken;  // lower-case name -> origin
  for (const auto& r : raw) {
    if (!r.name) continue;
    auto [it, fresh] = taken.emplace(lower(*r.name), r.origin);
    if (!fresh) {
      Where{source, cat(r.origin, " (name \"", *r.name, "\")")}.fail("name", cat("\"", *r.name, "\" is already used by ", it->second,
                                                                             " (names are compared ignoring case)"));
    }
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (raw[i].name) {
      entries[i].name = *raw[i].name;
      continue;
    }
    std::string base = slugify(raw[i].prompt);
    if (base.empty()) base = cat("entry-", i + 1);
    std::string name = base;
    for (int k = 2; taken.count(lower(name)) > 0; ++k) name = cat(base, "-", k);
    taken.emplace(lower(name), raw[i].origin);
    entries[i].name = name;
  }
}

GalleryManifest finish(std::vector<RawEntry> raw, const Fields& defaults, const ManifestDefaults& cli, std::string title,
                       const std::string& source) {
  GalleryManifest m;
  m.title = std::move(title);
  for (const auto& r : raw) {
    GalleryEntry e;
    e.prompt = r.prompt;
    e.origin = r.origin;
    std::string label = r.name ? cat(r.origin, " (name \"", *r.name, "\")") : cat(r.origin, " (prompt ", quoted_prompt(r.prompt), ")");
    resolve(e, r.fields, defaults, cli, Where{source, label});
    m.entries.push_back(std::move(e));
  }
  assign_names(m.entries, raw, source);
  return m;
}

void check_cli_defaults(const ManifestDefaults& cli) {
  if (cli.count && (*cli.count < 1 || *cli.count > kMaxImagesPerEntry)) {
    throw UsageError(cat("-n/--count must be between 1 and ", kMaxImagesPerEntry, ", got ", *cli.count));
  }
  const ImageSettingsOverride& s = cli.settings;
  if (s.cfg && !(std::isfinite(*s.cfg) && *s.cfg >= 0)) throw UsageError("--cfg must be >= 0");
  if (s.temperature && !(std::isfinite(*s.temperature) && *s.temperature >= 0)) {
    throw UsageError("--temperature must be >= 0 (0 = argmax)");
  }
  if (s.top_k && *s.top_k < 0) throw UsageError("--top-k must be >= 0 (0 = off)");
  if (cli.best_of && (*cli.best_of < 1 || *cli.best_of > kMaxBestOf)) {
    throw UsageError(cat("--best-of must be between 1 and ", kMaxBestOf, ", got ", *cli.best_of));
  }
}

GalleryManifest parse_json(std::string_view text, const std::string& source, const std::string& stem,
                           const ManifestDefaults& cli) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." -> from "parse error".
    if (size_t at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    throw FileError(source, cat("not valid JSON: ", what));
  }
  const Where top{source, ""};
  if (!doc.is_object()) top.fail("", "expected a JSON object with an \"entries\" list (see samples/gallery-demo.json)");
  check_keys(doc, kTopKeys, top);
  std::string title = stem;
  if (auto it = doc.find("title"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) top.fail("title", cat("expected a string, got ", it->dump()));
    if (!blank(it->get<std::string>())) title = it->get<std::string>();
  }
  Fields defaults;
  if (auto it = doc.find("defaults"); it != doc.end() && !it->is_null()) {
    const Where where{source, "defaults"};
    if (!it->is_object()) where.fail("", cat("expected an object, got ", it->dump()));
    check_keys(*it, kDefaultKeys, where);
    defaults = read_fields(*it, where);
  }
  auto list = doc.find("entries");
  if (list == doc.end() || list->is_null()) top.fail("entries", "missing; list the prompts to render there");
  if (!list->is_array()) top.fail("entries", cat("expected a list, got ", list->dump()));
  if (list->empty()) top.fail("entries", "the list is empty");

  std::vector<RawEntry> raw;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    RawEntry r;
    r.origin = cat("entries[", i, "]");
    Where where{source, r.origin};
    if (item.is_string()) {
      r.prompt = item.get<std::string>();
      if (blank(r.prompt)) where.fail("prompt", "is empty");
      raw.push_back(std::move(r));
      continue;
    }
    if (!item.is_object()) where.fail("", cat("expected a prompt string or an object, got ", item.dump()));
    // Name the entry in every later message: by its name, else by its prompt.
    if (auto n = item.find("name"); n != item.end() && !n->is_null()) {
      if (!n->is_string()) where.fail("name", cat("expected a string, got ", n->dump()));
      r.name = n->get<std::string>();
      where.object = cat(r.origin, " (name \"", *r.name, "\")");
      if (!valid_name(*r.name)) {
        where.fail("name", cat("\"", *r.name, "\" must be 1-", kMaxNameLength,
                               " letters, digits, '-' or '_', starting with a letter or digit (it names a folder)"));
      }
    }
    auto p = item.find("prompt");
    if (p != item.end() && p->is_string() && !r.name) where.object = cat(r.origin, " (prompt ", quoted_prompt(p->get<std::string>()), ")");
    check_keys(item, kEntryKeys, where);
    if (p == item.end() || p->is_null()) where.fail("prompt", "missing");
    if (!p->is_string()) where.fail("prompt", cat("expected a string, got ", p->dump()));
    r.prompt = p->get<std::string>();
    if (blank(r.prompt)) where.fail("prompt", "is empty");
    r.fields = read_fields(item, where);
    raw.push_back(std::move(r));
  }
  return finish(std::move(raw), defaults, cli, title, source);
}

GalleryManifest parse_text(std::string_view text, const std::string& source, const std::string& stem,
                           const ManifestDefaults& cli) {
  std::vector<RawEntry> raw;
  size_t line_no = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    const size_t last = line.find_last_not_of(" \t\r");
    raw.push_back(RawEntry{cat("line ", line_no), std::string(line.substr(first, last - first + 1)), std::nullopt, {}});
  }
  if (raw.empty()) throw FileError(source, "holds no prompts (one prompt per line; blank lines and lines starting with # are skipped)");
  return finish(std::move(raw), Fields{}, cli, stem, source);
}

}  // namespace

int64_t GalleryManifest::image_count() const {
  int64_t n = 0;
  for (const auto& e : entries) n += static_cast<int64_t>(e.seeds.size());
  return n;
}

bool GalleryManifest::any_best_of() const {
  return std::any_of(entries.begin(), entries.end(), [](const GalleryEntry& e) { return e.best_of > 1; });
}

bool GalleryManifest::any_plan() const {
  return std::any_of(entries.begin(), entries.end(), [](const GalleryEntry& e) { return e.plan; });
}

std::string slugify(std::string_view prompt) {
  constexpr size_t kMax = 40;
  std::string slug;
  for (unsigned char c : prompt) {
    if (std::isalnum(c) && c < 0x80) {
      slug += static_cast<char>(std::tolower(c));
    } else if (!slug.empty() && slug.back() != '-') {
      slug += '-';
    }
  }
  if (slug.size() > kMax) {
    // Cut at the last word boundary that keeps at least half of the room, else mid-word.
    const size_t dash = slug.rfind('-', kMax);
    slug.resize(dash != std::string::npos && dash >= kMax / 2 ? dash : kMax);
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return slug;
}

GalleryManifest parse_manifest(std::string_view text, const std::string& source, const std::string& stem,
                               const ManifestDefaults& cli) {
  check_cli_defaults(cli);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool is_json = std::filesystem::path(source).extension() == ".json" ||
                       (first != std::string_view::npos && text[first] == '{');
  return is_json ? parse_json(text, source, stem, cli) : parse_text(text, source, stem, cli);
}

GalleryManifest load_manifest(const std::filesystem::path& path, const ManifestDefaults& cli) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FileError(path.string(), "is a folder; give a manifest file (.json or .txt)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path.string(), std::filesystem::exists(path, ec) ? "cannot be read" : "not found");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw FileError(path.string(), "cannot be read");
  return parse_manifest(text, path.string(), path.stem().string(), cli);
}

}  // namespace januskit::pipelines
