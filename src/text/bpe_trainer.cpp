#include "text/bpe_trainer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/error.hpp"
#include "text/byte_level.hpp"
#include "text/regex.hpp"

namespace januskit::text {

const char* const kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

// Splits one UTF-8 string of the byte-level alphabet into its characters.
std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

// Removes every occurrence of the added tokens; what is left is what BPE sees.
std::vector<std::string> without_added_tokens(const std::string& text, const std::vector<std::string>& added) {
  std::vector<std::string> parts = {text};
  for (const auto& tok : added) {
    std::vector<std::string> next;
    for (const auto& p : parts) {
      size_t from = 0;
      for (size_t at = p.find(tok); at != std::string::npos; at = p.find(tok, from)) {
        next.push_back(p.substr(from, at - from));
        from = at + tok.size();
      }
      next.push_back(p.substr(from));
    }
    parts = std::move(next);
  }
  return parts;
}

struct Word {
  std::vector<std::string> symbols;
  int64_t count = 0;
};

}  // namespace

nlohmann::json train_bpe_tokenizer(const std::vector<std::string>& corpus, const BpeTrainerOptions& o) {
  Regex split = Regex::oniguruma(kQwen2SplitPattern);
  std::vector<std::string> added = o.special_tokens;
  added.insert(added.end(), o.added_tokens.begin(), o.added_tokens.end());
  // Longest first, so that "</think>" is removed before "<think>" could match inside it.
  std::sort(added.begin(), added.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });

  // 1. Pre-tokenise and count the distinct pieces, in the byte-level alphabet.
  std::map<std::string, int64_t> piece_counts;  // ordered: deterministic iteration
  std::vector<Regex::Match> matches;
  for (const auto& text : corpus) {
    for (const auto& part : without_added_tokens(text, added)) {
      matches.clear();
      split.find_all(part, matches);
      for (auto [b, e] : matches) piece_counts[byte_level::from_bytes(std::string_view(part).substr(b, e - b))]++;
    }
  }
  std::vector<Word> words;
  for (const auto& [piece, count] : piece_counts) words.push_back({utf8_chars(piece), count});

  // 2. Merge the most frequent adjacent pair, again and again (ties: the smallest pair).
  std::vector<std::pair<std::string, std::string>> merges;
  for (int m = 0; m < o.merges; ++m) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& w : words) {
      for (size_t i = 0; i + 1 < w.symbols.size(); ++i) pairs[{w.symbols[i], w.symbols[i + 1]}] += w.count;
    }
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it) {
      if (best == pairs.end() || it->second > best->second) best = it;
    }
    if (best == pairs.end() || best->second < 2) break;
    const auto [left, right] = best->first;
    merges.emplace_back(left, right);
    for (auto& w : words) {
      std::vector<std::string> merged;
      for (size_t i = 0; i < w.symbols.size(); ++i) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == left && w.symbols[i + 1] == right) {
          merged.push_back(left + right);
          ++i;
        } else {
          merged.push_back(w.symbols[i]);
        }
      }
      w.symbols = std::move(merged);
    }
  }

  // 3. The vocabulary: the 256 byte symbols in byte order, then one token per merge.
  nlohmann::json vocab = nlohmann::json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) vocab[byte_level::from_bytes(std::string(1, static_cast<char>(b)))] = id++;
  nlohmann::json merge_list = nlohmann::json::array();
  for (const auto& [l, r] : merges) {
    if (!vocab.contains(l + r)) vocab[l + r] = id++;
    merge_list.push_back({l, r});
  }

  nlohmann::json added_json = nlohmann::json::array();
  std::map<std::string, int> added_ids;
  auto add = [&](const std::string& content, bool special) {
    if (added_ids.count(content)) throw Error(cat("tokenizer training: '", content, "' is listed twice"));
    added_ids[content] = id;
    added_json.push_back({{"id", id++}, {"content", content}, {"single_word", false}, {"lstrip", false},
                          {"rstrip", false}, {"normalized", false}, {"special", special}});
  };
  for (const auto& t : o.special_tokens) add(t, true);
  for (const auto& t : o.added_tokens) add(t, false);

  nlohmann::json post = nullptr;
  if (!o.bos_token.empty()) {
    if (!added_ids.count(o.bos_token)) throw Error("tokenizer training: the BOS token must be a special token");
    const int bos = added_ids[o.bos_token];
    post = {{"type", "TemplateProcessing"},
            {"single", {{{"SpecialToken", {{"id", o.bos_token}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair",
             {{{"SpecialToken", {{"id", o.bos_token}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
              {{"SpecialToken", {{"id", o.bos_token}, {"type_id", 1}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
            {"special_tokens", {{o.bos_token, {{"id", o.bos_token}, {"ids", {bos}}, {"tokens", {o.bos_token}}}}}}};
  }
  nlohmann::json model = {{"type", "BPE"},         {"dropout", nullptr},       {"unk_token", nullptr},
                          {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                          {"fuse_unk", false},     {"byte_fallback", false},   {"ignore_merges", false},
                          {"vocab", vocab},        {"merges", merge_list}};
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added_json},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", kQwen2SplitPattern}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}}},
      {"post_processor", post},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", model},
  };
}

}  // namespace januskit::text
