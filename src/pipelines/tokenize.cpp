#include "pipelines/tokenize.hpp"

#include <nlohmann/json.hpp>

#include <istream>
#include <ostream>

#include "core/error.hpp"
#include "io/model_dir.hpp"
#include "models/registry.hpp"
#include "pipelines/janus_model.hpp"

namespace januskit::pipelines {

text::Tokenizer load_model_tokenizer(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec) && std::filesystem::exists(path / "config.json", ec) &&
      models::detect_architecture(io::ModelDir::open(path)).kind == models::ModelKind::janus) {
    return load_janus_tokenizer(path);
  }
  return text::Tokenizer::load(path);
}

void tokenize_text(const text::Tokenizer& tok, std::string_view text, text::SpecialTokens special, std::ostream& out) {
  for (int32_t id : tok.encode(text, special)) out << id << '\t' << tok.id_to_token(id) << '\n';
  out.flush();
}

void tokenize_jsonl(const text::Tokenizer& tok, text::SpecialTokens special, std::istream& in, std::ostream& out) {
  std::string line;
  size_t number = 0;
  std::vector<int32_t> ids;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(cat("stdin line ", number, ": invalid JSON (", e.what(), "); expected {\"text\": \"...\"}"));
    }
    auto text = row.is_object() ? row.find("text") : row.end();
    if (!row.is_object() || text == row.end() || !text->is_string()) {
      throw Error(cat("stdin line ", number, ": expected a JSON object with a \"text\" string"));
    }
    ids.clear();
    try {
      tok.encode_into(text->get_ref<const std::string&>(), ids, special);
    } catch (const Error& e) {
      throw Error(cat("stdin line ", number, ": ", e.what()));
    }
    nlohmann::ordered_json result = {{"ids", ids}, {"decoded", tok.decode(ids)}};
    out << result.dump() << '\n';
    out.flush();
  }
}

}  // namespace januskit::pipelines
