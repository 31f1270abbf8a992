// The static KV cache of the decoding core (gpt-fast style).
//
// Per layer one K and one V tensor [batch, kv_heads, capacity, head_dim], allocated once, written at
// explicit slots: shapes never change during generation, so a decode step can be captured as a CUDA
// graph and replayed. All rows share the slot counter (`length`); rows of different prompt lengths
// are left-aligned: row b's tokens occupy slots [row_start[b], length), and the slots before its
// start are never visible to it (nn::causal_window_mask). A row's rotary position is its slot minus
// its start, so every row sees positions 0, 1, 2, ... as if it were alone.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace januskit::engine {

// Sizes of a decoder's cache.
struct CacheShape {
  int64_t layers = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
};

// What one forward call needs to know about where its tokens go.
struct ForwardBatch {
  int64_t first_slot = 0;  // cache slot of the first new token (the same for every row)
  int64_t new_tokens = 0;  // T
  at::Tensor positions;    // [B, T] int64 rotary positions (slot - row_start)
  at::Tensor mask;         // [B, 1, T, first_slot + T] bool, true = may attend
};

class KVCache {
 public:
  KVCache(const CacheShape& shape, int64_t batch, int64_t capacity, at::ScalarType dtype, c10::Device device);
  KVCache(KVCache&&) = default;
  KVCache& operator=(KVCache&&) = default;

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  int64_t length() const { return length_; }  // slots written so far (shared by all rows)
  const CacheShape& shape() const { return shape_; }
  // Tokens row b holds: length - row_start[b].
  int64_t row_length(int64_t row) const { return length_ - row_start_[row]; }
  const std::vector<int64_t>& row_starts() const { return row_start_; }

  // Layer l's buffers, [B, KVH, capacity, d].
  at::Tensor& keys(int64_t layer) { return k_[layer]; }
  at::Tensor& values(int64_t layer) { return v_[layer]; }

  // Sets where each row's tokens begin (left padding of a prefill). Only before the first write.
  void set_row_starts(const std::vector<int64_t>& starts);
  // Positions and mask for T new tokens at slot length(); throws if they would not fit.
  ForwardBatch plan(int64_t new_tokens) const;
  // Writes layer l's new keys/values [B, KVH, T, d] at the planned slots.
  void write(int64_t layer, const ForwardBatch& batch, const at::Tensor& k, const at::Tensor& v);
  // The visible window [0, first_slot + T) of layer l.
  at::Tensor key_window(int64_t layer, const ForwardBatch& batch) const;
  at::Tensor value_window(int64_t layer, const ForwardBatch& batch) const;
  // Marks the planned tokens as written.
  void advance(const ForwardBatch& batch);

  // Sequence operations.
  // Keeps the first n slots (a shared prompt prefix, e.g. the earlier turns of a chat).
  void truncate(int64_t n);
  // Empties row b: none of its current slots stay visible; it restarts at position 0.
  void reset_row(int64_t row);
  // Shares a prefix: every row takes row `src_row` of `other` (its written slots and start), e.g. one
  // prefill of a prompt shared by several samples. Only on an empty cache of the same shape.
  void fill_rows_from(const KVCache& other, int64_t src_row);

  // Row operations of a scheduler that admits and retires requests between decode steps
  // (engine/request_scheduler.hpp). A row's keys and values depend on its positions only, never on
  // its slots, so moving a row to other slots (keeping its order) leaves what it computes unchanged.
  //
  // Rows [0, n) as a cache of their own: the same buffers (views), length and starts; writes through
  // it land here. Only for forward(); advance this cache (mark_written) after it.
  KVCache leading_rows(int64_t n);
  // Row `dst` takes row `src`'s visible slots (and start); for packing running rows to the front.
  void copy_row(int64_t dst, int64_t src);
  // Rows dst, dst+1, ... take `count` copies of row 0 of `single` (a prefilled prompt of
  // single.length() <= length() tokens), placed to end at length(), the slot of the next token.
  void place_rows(int64_t dst, int64_t count, const KVCache& single);
  // Moves the slots of rows [0, rows) by `by` (> 0: later, to make room for a longer prompt; < 0:
  // earlier, to free slots at the end) and the length with them; starts move too.
  void shift_slots(int64_t by, int64_t rows);

  // Bytes held by all layers (for memory reports).
  int64_t bytes() const;
  // What a cache of this size would hold, without allocating it (memory planning).
  static int64_t bytes_for(const CacheShape& shape, int64_t batch, int64_t capacity, at::ScalarType dtype);

  // For decode loops that run on the device (engine/decode_graph.hpp):
  // row starts as a [B] int64 tensor on the cache's device; the same buffer for the cache's lifetime
  // (set_row_starts copies into it), so a captured CUDA graph can keep reading it.
  const at::Tensor& row_start_tensor() const { return row_start_tensor_; }
  // Scratch space of nn::decode_attention, shared by every layer of a step.
  at::Tensor& decode_workspace() { return decode_workspace_; }
  // Records n slots written by a device-side decode loop (which tracks its slot in device memory).
  void mark_written(int64_t n);

 private:
  KVCache() = default;
  CacheShape shape_;
  int64_t batch_, capacity_;
  int64_t length_ = 0;
  std::vector<int64_t> row_start_;
  at::Tensor row_start_tensor_;  // [B] int64 on the cache's device, mirrors row_start_
  std::vector<at::Tensor> k_, v_;
  at::Tensor decode_workspace_;
};

}  // namespace januskit::engine
