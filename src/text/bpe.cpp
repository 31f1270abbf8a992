#include "text/bpe.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>

#include "core/error.hpp"
#include "text/byte_level.hpp"
#include "text/utf8.hpp"

namespace januskit::text {
namespace {

using json = nlohmann::json;

std::atomic<uint64_t> g_next_serial{1};

// Pre-tokens encoded before, per thread, so encoding never takes a lock. A thread keeps caches for
// a few models at once (a process rarely holds more than one or two tokenizers); the least recently
// created is replaced. Each cache is bounded and simply cleared when full.
class WordCache {
 public:
  static constexpr size_t kMaxEntries = 1 << 16;
  static constexpr size_t kMaxPieceBytes = 256;  // longer pre-tokens are rare and not worth keeping

  bool find(std::string_view piece, uint64_t h, std::vector<int32_t>& out) const {
    int32_t slot = index_.find(piece, h);
    if (slot < 0) return false;
    const Entry& e = entries_[static_cast<size_t>(slot)];
    out.insert(out.end(), ids_.begin() + e.offset, ids_.begin() + e.offset + e.count);
    return true;
  }

  void insert(std::string_view piece, const int32_t* ids, size_t count) {
    if (piece.size() > kMaxPieceBytes) return;
    if (entries_.size() >= kMaxEntries) {
      index_ = StringMap();
      entries_.clear();
      ids_.clear();
    }
    index_.insert(piece, static_cast<int32_t>(entries_.size()));
    entries_.push_back({static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(count)});
    ids_.insert(ids_.end(), ids, ids + count);
  }

 private:
  struct Entry {
    uint32_t offset, count;
  };
  StringMap index_;
  std::vector<Entry> entries_;
  std::vector<int32_t> ids_;
};

WordCache& thread_cache(uint64_t serial) {
  struct Slot {
    uint64_t serial = 0;
    std::unique_ptr<WordCache> cache;
  };
  thread_local std::array<Slot, 4> slots;
  thread_local size_t next_victim = 0;
  for (Slot& s : slots) {
    if (s.serial == serial) return *s.cache;
  }
  Slot& s = slots[next_victim];
  next_victim = (next_victim + 1) % slots.size();
  s.serial = serial;
  s.cache = std::make_unique<WordCache>();
  return *s.cache;
}

struct HeapEntry {
  uint32_t rank;
  uint32_t pos;
  int32_t left, right;  // the pair's ids when it was pushed
  int32_t merged;
  // Min-heap on (rank, pos) through std::push_heap's max-heap with this "greater" order.
  friend bool operator<(const HeapEntry& a, const HeapEntry& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

std::string byte_token(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

std::string optional_string(const json& model, const char* key) {
  auto it = model.find(key);
  if (it == model.end() || it->is_null()) return {};
  if (!it->is_string()) throw Error(cat("model.", key, " is not a string"));
  return it->get<std::string>();
}

bool optional_bool(const json& model, const char* key) {
  auto it = model.find(key);
  if (it == model.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw Error(cat("model.", key, " is not true/false"));
  return it->get<bool>();
}

}  // namespace

struct BpeModel::Workspace {
  std::vector<Symbol> symbols;
  std::vector<HeapEntry> heap;
};

BpeModel BpeModel::from_json(const json& model, TokenizerJson& data, bool byte_level) {
  BpeModel m;
  m.serial_ = g_next_serial.fetch_add(1);
  m.byte_level_ = byte_level;

  if (auto it = model.find("dropout"); it != model.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() != 0.0) {
      throw Error("model.dropout is set: BPE dropout makes encoding random, which januskit does not support");
    }
  }
  m.ignore_merges_ = optional_bool(model, "ignore_merges");
  m.byte_fallback_ = optional_bool(model, "byte_fallback");
  m.fuse_unk_ = optional_bool(model, "fuse_unk");
  m.continuing_subword_prefix_ = optional_string(model, "continuing_subword_prefix");
  m.end_of_word_suffix_ = optional_string(model, "end_of_word_suffix");
  if (byte_level && (!m.continuing_subword_prefix_.empty() || !m.end_of_word_suffix_.empty())) {
    throw Error("model.continuing_subword_prefix/end_of_word_suffix with a ByteLevel pre-tokenizer is not supported");
  }
  if (!data.has_vocab) throw Error("model.vocab is missing or not an object");
  if (!data.has_merges) throw Error("model.merges is missing or not an array");

  // Vocabulary. A repeated spelling keeps its last id, as the reference's HashMap does.
  m.vocab_.reserve(data.vocab.size());
  for (const auto& [token, id] : data.vocab) {
    if (id < 0 || id > INT32_MAX - 2) throw Error(cat("model.vocab entry \"", token, "\": id ", id, " is out of range"));
    m.vocab_.insert(token, static_cast<int32_t>(id));
  }
  data.vocab = {};
  m.build_spellings();
  if (std::string unk = optional_string(model, "unk_token"); !unk.empty()) {
    m.unk_id_ = m.vocab_.find(unk);
    if (m.unk_id_ < 0) throw Error(cat("model.unk_token \"", unk, "\" is not in the vocabulary"));
  }
  if (byte_level) {
    m.symbol_vocab_.reserve(m.vocab_.size());
    std::string bytes;
    m.vocab_.for_each([&](std::string_view token, int32_t id) {
      // Entries with characters outside the alphabet can never come out of byte-level BPE.
      bytes.clear();
      if (byte_level::append_bytes(token, bytes)) m.symbol_vocab_.insert(bytes, id);
    });
    for (int b = 0; b < 256; ++b) m.byte_ids_[b] = m.symbol_vocab_.find(std::string(1, static_cast<char>(b)));
  }

  // Merges: ["a b", ...] (older files) or [["a", "b"], ...]; the rank is the position.
  m.merges_.reserve(data.merges.size());
  std::string merged;
  uint32_t rank = 0;
  size_t index = 0;
  for (const TokenizerJson::Merge& entry : data.merges) {
    ++index;
    std::string_view a = entry.first, b = entry.second;
    if (!entry.is_pair) {
      if (entry.first.rfind("#version", 0) == 0) continue;
      size_t space = a.find(' ');
      if (space == std::string_view::npos || a.find(' ', space + 1) != std::string_view::npos) {
        throw Error(cat("model.merges entry ", index, " \"", entry.first, "\" is not two tokens separated by one space"));
      }
      b = a.substr(space + 1);
      a = a.substr(0, space);
    }
    int32_t a_id = m.vocab_.find(a), b_id = m.vocab_.find(b);
    if (a_id < 0 || b_id < 0) {
      throw Error(cat("model.merges entry ", index, ": \"", a_id < 0 ? a : b, "\" is not in the vocabulary"));
    }
    std::string_view b_rest = b;
    if (!m.continuing_subword_prefix_.empty() && b_rest.size() >= m.continuing_subword_prefix_.size()) {
      b_rest.remove_prefix(m.continuing_subword_prefix_.size());
    }
    merged.assign(a).append(b_rest);
    int32_t merged_id = m.vocab_.find(merged);
    if (merged_id < 0) {
      throw Error(cat("model.merges entry ", index, ": the merged token \"", merged, "\" is not in the vocabulary"));
    }
    m.merges_.insert(PairMap::key(a_id, b_id), {rank++, merged_id});
  }
  data.merges = {};
  m.merge_count_ = rank;
  return m;
}

// The id -> spelling table as one arena: lengths per id, prefix sums, then one copy per entry.
void BpeModel::build_spellings() {
  int32_t max_id = -1;
  vocab_.for_each([&](std::string_view, int32_t id) { max_id = std::max(max_id, id); });
  const size_t n = static_cast<size_t>(max_id + 1);
  std::vector<uint32_t> length(n, 0);
  has_id_.assign(n, false);
  vocab_.for_each([&](std::string_view token, int32_t id) {
    length[static_cast<size_t>(id)] = static_cast<uint32_t>(token.size());
    has_id_[static_cast<size_t>(id)] = true;
  });
  spelling_offset_.assign(n + 1, 0);
  for (size_t i = 0; i < n; ++i) spelling_offset_[i + 1] = spelling_offset_[i] + length[i];
  spelling_arena_.assign(spelling_offset_[n], '\0');
  vocab_.for_each([&](std::string_view token, int32_t id) {
    std::copy(token.begin(), token.end(), spelling_arena_.begin() + spelling_offset_[static_cast<size_t>(id)]);
  });
}

void BpeModel::split_into_symbols(std::string_view piece, std::vector<Symbol>& symbols) const {
  symbols.clear();
  int32_t pending_unk = -1;  // an unknown run not yet emitted (fused when fuse_unk)
  auto push = [&](int32_t id) {
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, -1, 1});
    if (index > 0) symbols[static_cast<size_t>(index) - 1].next = index;
  };
  auto unknown = [&](std::string_view unit) {
    if (byte_fallback_) {
      // Every byte as its "<0xAB>" token, or none of them.
      std::vector<int32_t> ids;
      for (unsigned char c : unit) {
        int32_t id = vocab_.find(byte_token(c));
        if (id < 0) break;
        ids.push_back(id);
      }
      if (!ids.empty() && ids.size() == unit.size()) {
        for (int32_t id : ids) push(id);  // a pending unk stays pending, as in the reference
        return;
      }
    }
    if (unk_id_ < 0) return;  // no unk token: the reference drops the unit
    if (pending_unk >= 0 && !fuse_unk_) push(pending_unk);
    pending_unk = unk_id_;
  };
  auto known = [&](int32_t id) {
    if (pending_unk >= 0) {
      push(pending_unk);
      pending_unk = -1;
    }
    push(id);
  };

  if (byte_level_) {
    for (unsigned char c : piece) {
      int32_t id = byte_ids_[c];
      if (id >= 0) {
        known(id);
      } else {
        std::string alphabet_char;
        utf8::append(alphabet_char, byte_level::char_for_byte(c));
        unknown(alphabet_char);
      }
    }
  } else {
    std::string unit;
    size_t i = 0;
    while (i < piece.size()) {
      size_t begin = i;
      utf8::next(piece, i);
      unit.clear();
      if (begin > 0) unit += continuing_subword_prefix_;
      unit.append(piece.substr(begin, i - begin));
      if (i == piece.size()) unit += end_of_word_suffix_;
      int32_t id = vocab_.find(unit);
      if (id >= 0) known(id);
      else unknown(unit);  // byte fallback covers the prefix/suffix too, as in the reference
    }
  }
  if (pending_unk >= 0) push(pending_unk);
}

void BpeModel::merge(std::vector<Symbol>& symbols, Workspace& ws) const {
  auto& heap = ws.heap;
  heap.clear();
  // Adds the pair starting at `pos` (if it merges) to the heap; `sift` = keep the heap order now.
  auto consider = [&](size_t pos, bool sift) {
    const Symbol& left = symbols[pos];
    if (left.next < 0) return;
    int32_t right = symbols[static_cast<size_t>(left.next)].id;
    const PairMap::Value* m = merges_.find(PairMap::key(left.id, right));
    if (m == nullptr) return;
    heap.push_back({m->rank, static_cast<uint32_t>(pos), left.id, right, m->merged});
    if (sift) std::push_heap(heap.begin(), heap.end());
  };
  for (size_t pos = 0; pos + 1 < symbols.size(); ++pos) consider(pos, false);
  std::make_heap(heap.begin(), heap.end());  // O(n), for the long pre-tokens of CJK runs

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    HeapEntry top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.len == 0 || left.next < 0) continue;  // merged away, or nothing to the right any more
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    // Stale entry: a neighbour merged since it was pushed, so the pair's ids changed. (The
    // reference re-looks the pair up and compares merged ids; a changed pair always concatenates
    // to a longer token, hence a different id, so comparing the pair's ids is the same test
    // without a hash lookup.)
    if (left.id != top.left || right.id != top.right) continue;

    left.id = top.merged;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = static_cast<int32_t>(top.pos);
    if (left.prev >= 0) consider(static_cast<size_t>(left.prev), true);
    consider(top.pos, true);
  }
}

void BpeModel::encode(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    // Llama-3 style: a pre-token that is a vocabulary entry is emitted whole.
    int32_t id = byte_level_ ? symbol_vocab_.find(piece) : vocab_.find(piece);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  WordCache& cache = thread_cache(serial_);
  uint64_t h = hash_bytes(piece);
  if (cache.find(piece, h, out)) return;

  thread_local Workspace ws;
  split_into_symbols(piece, ws.symbols);
  if (ws.symbols.size() > 1) merge(ws.symbols, ws);
  size_t first = out.size();
  for (int32_t i = ws.symbols.empty() ? -1 : 0; i >= 0; i = ws.symbols[static_cast<size_t>(i)].next) {
    out.push_back(ws.symbols[static_cast<size_t>(i)].id);
  }
  cache.insert(piece, out.data() + first, out.size() - first);
}

}  // namespace januskit::text
