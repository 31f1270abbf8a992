// Reading tokenizer.json: a SAX pass that streams the two big members, model.vocab (100k-150k
// entries) and model.merges (as many), into flat vectors and builds an ordinary JSON document for
// everything else (normalizer, pre-tokenizer, added tokens, ...).
//
// Design note: parsing the whole file into a DOM costs a tree node per vocabulary entry and merge,
// then a second walk to copy them into the tokenizer's tables, then freeing the tree; on the 11 MB
// Qwen file that was more than half of the load time. The vocabulary and merges need no tree: each
// entry goes straight into a vector with its strings moved, not copied.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace januskit::text {

struct TokenizerJson {
  nlohmann::json root;  // the document without model.vocab and model.merges
  bool has_vocab = false, has_merges = false;
  std::vector<std::pair<std::string, int64_t>> vocab;  // in file order
  // One entry per merge, in file order: "a b" strings (second empty) or ["a", "b"] pairs.
  struct Merge {
    std::string first, second;
    bool is_pair;
  };
  std::vector<Merge> merges;
};

// Throws januskit::Error describing a syntax error ("invalid JSON (...)") or a vocab/merges entry
// of the wrong shape; the caller adds the file name.
TokenizerJson read_tokenizer_json(std::string_view text);

}  // namespace januskit::text
