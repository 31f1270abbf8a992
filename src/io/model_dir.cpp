#include "io/model_dir.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"

namespace januskit::io {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxJsonFile = 256ull << 20;  // tokenizer.json files are ~10 MB

std::optional<fs::path> if_exists(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) ? std::optional<fs::path>(p) : std::nullopt;
}

// Regular files of `dir` whose names satisfy `pred`, sorted.
template <typename Pred>
std::vector<fs::path> files_where(const fs::path& dir, Pred pred) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec) && pred(e.path().filename().string())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool ends_with(const std::string& s, std::string_view suffix) { return s.ends_with(suffix); }

// The shard files an index names, sorted by name (weight_map is keyed by tensor, so its order says
// nothing about the files), each checked to exist.
std::vector<fs::path> shards_of_index(const fs::path& index_path) {
  const nlohmann::json index = read_json_file(index_path);
  const std::string shown = index_path.string();
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw FileError(shown, "no \"weight_map\" object; this is not a weight index");
  }
  std::vector<fs::path> shards;
  std::set<std::string> seen;
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    if (!file.is_string()) throw FileError(shown, cat("weight_map entry '", tensor, "' is not a file name"));
    const std::string name = file.get<std::string>();
    const fs::path rel(name);
    // Shards live in the folder: an index must not send the reader elsewhere ("../../etc/...").
    if (name.empty() || rel.is_absolute() || std::any_of(rel.begin(), rel.end(), [](const fs::path& c) { return c == ".."; })) {
      throw FileError(shown, cat("weight_map names '", name, "', which is not a file inside the model folder"));
    }
    if (!seen.insert(name).second) continue;
    const fs::path shard = index_path.parent_path() / rel;
    if (!if_exists(shard)) {
      throw FileError(shard.string(), cat("missing shard: ", index_path.filename().string(), " names it but it does not "
                                          "exist; the download is incomplete, fetch the missing file"));
    }
    shards.push_back(shard);
  }
  if (shards.empty()) throw FileError(shown, "weight_map is empty");
  std::sort(shards.begin(), shards.end());
  return shards;
}

// Exactly one candidate, or an error asking for an index.
fs::path only_one(const fs::path& dir, const std::vector<fs::path>& candidates, std::string_view index_name) {
  if (candidates.size() == 1) return candidates.front();
  std::string names;
  for (const fs::path& p : candidates) names += (names.empty() ? "" : ", ") + p.filename().string();
  throw FileError(dir.string(), cat("several weight files (", names, ") and no ", index_name,
                                    "; keep one file or add the index that lists the shards"));
}

}  // namespace

nlohmann::json read_json_file(const fs::path& path) {
  const std::string shown = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) throw FileError(shown, "not found");
  if (!fs::is_regular_file(path, ec)) throw FileError(shown, "is not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) throw FileError(shown, cat("cannot read: ", ec.message()));
  if (size > kMaxJsonFile) throw FileError(shown, cat("is ", size, " bytes, too large for a JSON settings file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(shown, "cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw FileError(shown, cat("invalid JSON (", e.what(), ")"));
  }
}

std::vector<fs::path> find_weight_files(const fs::path& dir, std::optional<fs::path>& index) {
  index.reset();
  if (auto p = if_exists(dir / "model.safetensors.index.json")) {
    index = p;
    return shards_of_index(*p);
  }
  if (auto p = if_exists(dir / "model.safetensors")) return {*p};
  const auto safetensors = files_where(dir, [](const std::string& n) { return ends_with(n, ".safetensors"); });
  if (!safetensors.empty()) return {only_one(dir, safetensors, "model.safetensors.index.json")};
  if (auto p = if_exists(dir / "pytorch_model.bin.index.json")) {
    index = p;
    return shards_of_index(*p);
  }
  if (auto p = if_exists(dir / "pytorch_model.bin")) return {*p};
  auto torch_files = files_where(dir, [](const std::string& n) { return n.starts_with("pytorch_model") && ends_with(n, ".bin"); });
  if (torch_files.empty()) {
    torch_files = files_where(dir, [](const std::string& n) { return ends_with(n, ".pt") || ends_with(n, ".pth"); });
  }
  if (!torch_files.empty()) return {only_one(dir, torch_files, "pytorch_model.bin.index.json")};
  throw FileError(dir.string(),
                  "no weights found (looked for model.safetensors.index.json, *.safetensors, "
                  "pytorch_model.bin.index.json, pytorch_model*.bin, *.pt, *.pth); is this the model folder?");
}

ModelDir ModelDir::open(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw FileError(dir.string(), "no such folder");
  if (!fs::is_directory(dir, ec)) throw FileError(dir.string(), "is not a folder; expected a model folder with config.json");
  ModelDir m;
  m.root = dir;
  const fs::path config = dir / "config.json";
  if (!if_exists(config)) {
    throw FileError(config.string(), "not found; a model folder holds config.json next to its weights");
  }
  m.config = read_json_file(config);
  if (!m.config.is_object()) throw FileError(config.string(), "is not a JSON object");
  m.tokenizer_json = if_exists(dir / "tokenizer.json");
  m.tokenizer_config_json = if_exists(dir / "tokenizer_config.json");
  m.generation_config_json = if_exists(dir / "generation_config.json");
  m.special_tokens_map_json = if_exists(dir / "special_tokens_map.json");
  m.preprocessor_config_json = if_exists(dir / "preprocessor_config.json");
  m.weight_files = find_weight_files(dir, m.weight_index);
  return m;
}

Checkpoint ModelDir::open_checkpoint() const {
  Checkpoint ckpt = Checkpoint::open_files(weight_files);
  if (!weight_index) return ckpt;
  // An index whose weight_map disagrees with the shards points at a broken download or a mixed folder.
  const nlohmann::json index = read_json_file(*weight_index);
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    if (!ckpt.contains(tensor)) {
      throw FileError(weight_index->string(), cat("lists tensor '", tensor, "' in ", file.get<std::string>(),
                                                  ", which does not hold it; the shard is damaged or from another model"));
    }
    const fs::path actual = ckpt.info(tensor).file.filename();
    if (actual != fs::path(file.get<std::string>()).filename()) {
      log::debug(weight_index->string(), ": tensor '", tensor, "' is in ", actual.string(), ", not ", file.get<std::string>());
    }
  }
  return ckpt;
}

}  // namespace januskit::io
