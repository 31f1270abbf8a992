// Open-addressing hash maps for the tokenizer's hot paths (internal to src/text).
//
// Design note: encoding spends its time in three lookups: a pre-token in the word cache, a byte
// string in the vocabulary, and a (left id, right id) pair in the merge table. std::unordered_map
// allocates a node per entry and hashes through std::hash; these maps keep all keys in one arena
// and all slots in one array with linear probing, which is several times faster to probe and to
// build (the vocabularies hold 100k-150k entries and ~150k merges).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace januskit::text {

// A 64-bit hash of a byte string: 8-byte words folded with a multiply-xorshift step, then a final
// avalanche so that the low bits (used for the slot index) depend on every input byte.
inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x6A09E667F3BCC909ULL ^ (static_cast<uint64_t>(n) * 0x9E3779B97F4A7C15ULL);
  auto step = [](uint64_t h, uint64_t v) {
    h ^= v;
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ (h >> 32);
  };
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = step(h, v);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = step(h, v);
  }
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  return h;
}
inline uint64_t hash_bytes(std::string_view s) { return hash_bytes(s.data(), s.size()); }

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7FB5D329728EA185ULL;
  x ^= x >> 27;
  x *= 0x81DADEF4BC2DD44DULL;
  return x ^ (x >> 33);
}

// byte string -> int32 value. Insert overwrites an existing key (later JSON entries win, as in
// the reference's HashMap collection).
class StringMap {
 public:
  void reserve(size_t n) { rehash(capacity_for(n)); }
  size_t size() const { return size_; }

  void insert(std::string_view key, int32_t value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(capacity_for(size_ + 1));
    uint64_t h = hash_bytes(key);
    size_t i = h & mask_;
    while (slots_[i].used) {
      if (slots_[i].hash == h && view(slots_[i]) == key) {
        slots_[i].value = value;
        return;
      }
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), value, true};
    arena_.append(key);
    ++size_;
  }

  // The value, or -1 when absent.
  int32_t find(std::string_view key) const { return find(key, hash_bytes(key)); }
  int32_t find(std::string_view key, uint64_t h) const {
    if (slots_.empty()) return -1;
    size_t i = h & mask_;
    while (slots_[i].used) {
      if (slots_[i].hash == h && slots_[i].len == key.size() &&
          std::memcmp(arena_.data() + slots_[i].offset, key.data(), key.size()) == 0) {
        return slots_[i].value;
      }
      i = (i + 1) & mask_;
    }
    return -1;
  }

  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.used) f(view(s), s.value);
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0, len = 0;
    int32_t value = 0;
    bool used = false;
  };
  static size_t capacity_for(size_t n) {
    size_t cap = 16;
    while (cap * 3 < n * 4 + 4) cap *= 2;
    return cap;
  }
  std::string_view view(const Slot& s) const { return std::string_view(arena_).substr(s.offset, s.len); }
  void rehash(size_t cap) {
    if (cap <= slots_.size()) return;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (!s.used) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].used) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0, size_ = 0;
};

// uint64 key -> two uint32/int32 values (the merge table: (left, right) -> (rank, merged id)).
class PairMap {
 public:
  struct Value {
    uint32_t rank;
    int32_t merged;
  };

  void reserve(size_t n) { rehash(capacity_for(n)); }

  // Keeps the last value for a repeated key, like the reference's HashMap collection.
  void insert(uint64_t key, Value v) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(capacity_for(size_ + 1));
    size_t i = mix64(key) & mask_;
    while (slots_[i].key != kEmpty) {
      if (slots_[i].key == key) {
        slots_[i].value = v;
        return;
      }
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{key, v};
    ++size_;
  }

  const Value* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    size_t i = mix64(key) & mask_;
    while (slots_[i].key != kEmpty) {
      if (slots_[i].key == key) return &slots_[i].value;
      i = (i + 1) & mask_;
    }
    return nullptr;
  }

  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }

 private:
  static constexpr uint64_t kEmpty = ~0ULL;  // ids are below 2^31, so (-1, -1) never occurs
  struct Slot {
    uint64_t key = kEmpty;
    Value value{};
  };
  static size_t capacity_for(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    return cap;
  }
  void rehash(size_t cap) {
    if (cap <= slots_.size()) return;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.key == kEmpty) continue;
      size_t i = mix64(s.key) & mask_;
      while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

}  // namespace januskit::text
