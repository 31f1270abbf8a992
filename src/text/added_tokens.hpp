// Added tokens (tokenizer.json "added_tokens", plus special tokens a model folder declares): found
// literally in the text before any normalisation or pre-tokenisation, as the reference does.
//
// Design note: the reference scans with a leftmost-longest Aho-Corasick automaton: the match that
// starts first wins, the longest one among those starting there; matching resumes after it. A byte
// trie walked from each position whose byte can start a token gives exactly that result, and a
// 256-entry table of first bytes lets almost every position of ordinary text be skipped at once
// (in real vocabularies nearly all added tokens start with '<'). A match that fails `single_word`
// is discarded but still consumed, as in the reference. `lstrip`/`rstrip` extend the token over
// the whitespace (Unicode White_Space) before/after it; `single_word` requires that the text
// around it does not continue a word (the regex crate's Unicode \w).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/flat_map.hpp"

namespace januskit::text {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool normalized = true;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

class AddedTokenMatcher {
 public:
  struct Segment {
    std::string_view text;
    int32_t id;  // -1: ordinary text to normalise and pre-tokenise
  };

  // `patterns[k]` is the string to find for `tokens[k]` (its content, or its normalised content for
  // normalized tokens); `tokens` must outlive the matcher.
  void build(const std::vector<std::string>& patterns, const std::vector<const AddedToken*>& tokens);
  bool empty() const { return tokens_.empty(); }

  // Splits `text` into ordinary segments and added-token segments, appended to `out` in order.
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  struct Found {
    size_t begin, end;
    int32_t token;  // index into tokens_, -1 when nothing starts at begin
  };
  Found longest_at(std::string_view text, size_t pos) const;

  std::vector<const AddedToken*> tokens_;
  PairMap edges_;                   // (node, byte) -> child node (stored in Value::rank)
  std::vector<int32_t> node_token_; // token index ending at a node, or -1
  std::array<bool, 256> first_byte_{};
};

// Unicode \w as the regex crate defines it (Alphabetic, marks, decimal digits, connector
// punctuation, join controls), approximated from general categories; see added_tokens.cpp.
bool is_word_char(char32_t cp);

}  // namespace januskit::text
