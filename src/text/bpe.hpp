// The BPE model of tokenizer.json: vocabulary, ranked merges, and the encoding of one pre-token.
//
// Design note: encoding a pre-token repeatedly merges the adjacent pair with the lowest merge rank
// (leftmost among equal ranks) until no pair is in the merge table. Symbols live in an array
// linked as a list, candidate pairs in a binary min-heap keyed (rank, position); entries that went
// stale because a neighbour merged are recognised on pop (the pair at that position no longer
// merges into the recorded id) and dropped. That is O(n log n) per pre-token, which matters for
// the long pre-tokens of CJK text (whole runs of ideographs are one pre-token). Frequent
// pre-tokens skip all of this through a per-thread word cache.
//
// Byte-level vocabularies (GPT-2 alphabet) are re-keyed to raw bytes at load time, so the symbols
// of a pre-token are its bytes and nothing is mapped at encode time. Other vocabularies keep their
// text keys, and the symbols are UTF-8 characters (with continuing_subword_prefix /
// end_of_word_suffix, unk_token, fuse_unk and byte_fallback as the reference defines them).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/flat_map.hpp"
#include "text/tokenizer_json.hpp"

namespace januskit::text {

class BpeModel {
 public:
  // Builds the model from tokenizer.json's "model" object, whose vocab and merges `data` holds
  // (they are consumed). `byte_level`: the pre-tokenizer ends with ByteLevel. Throws
  // januskit::Error describing the problem (the caller adds the file name).
  static BpeModel from_json(const nlohmann::json& model, TokenizerJson& data, bool byte_level);

  // Appends the ids of one pre-token (bytes when byte_level, else UTF-8 text).
  void encode(std::string_view piece, std::vector<int32_t>& out) const;

  // Id of a vocabulary entry by its tokenizer.json spelling (byte-level alphabet), or -1.
  int32_t token_to_id(std::string_view token) const { return vocab_.find(token); }
  // Whether the vocabulary has this id, and its tokenizer.json spelling.
  bool has_id(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) + 1 < spelling_offset_.size() && has_id_[static_cast<size_t>(id)];
  }
  std::string_view id_to_token(int32_t id) const {
    return std::string_view(spelling_arena_)
        .substr(spelling_offset_[static_cast<size_t>(id)], spelling_offset_[static_cast<size_t>(id) + 1] - spelling_offset_[static_cast<size_t>(id)]);
  }

  size_t size() const { return vocab_.size(); }  // number of entries (the reference's vocab size)
  int32_t max_id() const { return static_cast<int32_t>(spelling_offset_.size()) - 2; }
  size_t merge_count() const { return merge_count_; }
  bool byte_level() const { return byte_level_; }

 private:
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    uint32_t len;  // bytes of the piece it covers; 0 = merged into its left neighbour
  };
  struct Workspace;

  void build_spellings();
  void split_into_symbols(std::string_view piece, std::vector<Symbol>& symbols) const;
  void merge(std::vector<Symbol>& symbols, Workspace& ws) const;

  StringMap vocab_;         // tokenizer.json spelling -> id
  StringMap symbol_vocab_;  // byte_level: raw bytes -> id (alphabet-only entries); unused otherwise
  std::string spelling_arena_;            // spellings by id
  std::vector<uint32_t> spelling_offset_;  // max_id + 2 entries
  std::vector<bool> has_id_;
  PairMap merges_;
  size_t merge_count_ = 0;
  std::array<int32_t, 256> byte_ids_{};  // byte_level: id of each one-byte symbol, -1 if absent
  bool byte_level_ = false;
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  int32_t unk_id_ = -1;
  std::string continuing_subword_prefix_, end_of_word_suffix_;
  uint64_t serial_ = 0;  // identifies this model's word caches
};

}  // namespace januskit::text
