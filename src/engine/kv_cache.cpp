#include "engine/kv_cache.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.hpp"
#include "nn/attention.hpp"

namespace januskit::engine {

KVCache::KVCache(const CacheShape& shape, int64_t batch, int64_t capacity, at::ScalarType dtype, c10::Device device)
    : shape_(shape), batch_(batch), capacity_(capacity), row_start_(static_cast<size_t>(batch), 0) {
  auto options = at::TensorOptions().dtype(dtype).device(device);
  k_.reserve(static_cast<size_t>(shape.layers));
  v_.reserve(static_cast<size_t>(shape.layers));
  for (int64_t l = 0; l < shape.layers; ++l) {
    k_.push_back(at::zeros({batch, shape.kv_heads, capacity, shape.head_dim}, options));
    v_.push_back(at::zeros({batch, shape.kv_heads, capacity, shape.head_dim}, options));
  }
  row_start_tensor_ = at::zeros({batch}, at::TensorOptions().dtype(at::kLong).device(device));
}

void KVCache::set_row_starts(const std::vector<int64_t>& starts) {
  if (static_cast<int64_t>(starts.size()) != batch_) throw Error(cat("KV cache: ", starts.size(), " row starts for ", batch_, " rows"));
  row_start_ = starts;
  // Copied into the existing buffer: a captured decode graph holds its address.
  row_start_tensor_.copy_(at::tensor(starts, at::kLong));
}

ForwardBatch KVCache::plan(int64_t new_tokens) const {
  if (length_ + new_tokens > capacity_) {
    throw Error(cat("KV cache full: ", length_, " + ", new_tokens, " tokens exceed its capacity of ", capacity_,
                    "; lower --max-tokens or shorten the prompt"));
  }
  ForwardBatch b;
  b.first_slot = length_;
  b.new_tokens = new_tokens;
  auto device = row_start_tensor_.device();
  at::Tensor slots = at::arange(length_, length_ + new_tokens, at::TensorOptions().dtype(at::kLong).device(device));
  // Padding slots (before a row's start) get position 0; they are masked out anyway.
  b.positions = (slots.unsqueeze(0) - row_start_tensor_.unsqueeze(1)).clamp_min(0);
  b.mask = nn::causal_window_mask(row_start_tensor_, length_, new_tokens);
  return b;
}

void KVCache::write(int64_t layer, const ForwardBatch& batch, const at::Tensor& k, const at::Tensor& v) {
  k_[layer].narrow(2, batch.first_slot, batch.new_tokens).copy_(k);
  v_[layer].narrow(2, batch.first_slot, batch.new_tokens).copy_(v);
}

at::Tensor KVCache::key_window(int64_t layer, const ForwardBatch& batch) const {
  return k_[layer].narrow(2, 0, batch.first_slot + batch.new_tokens);
}

at::Tensor KVCache::value_window(int64_t layer, const ForwardBatch& batch) const {
  return v_[layer].narrow(2, 0, batch.first_slot + batch.new_tokens);
}

void KVCache::advance(const ForwardBatch& batch) {
  if (batch.first_slot != length_) throw Error("KV cache: a planned batch was advanced out of order");
  length_ += batch.new_tokens;
}

void KVCache::truncate(int64_t n) {
  if (n < 0 || n > length_) throw Error(cat("KV cache: cannot keep ", n, " of ", length_, " slots"));
  length_ = n;
  for (auto& s : row_start_) s = std::min(s, n);
  set_row_starts(row_start_);
}

void KVCache::reset_row(int64_t row) {
  row_start_.at(static_cast<size_t>(row)) = length_;
  set_row_starts(row_start_);
}

void KVCache::fill_rows_from(const KVCache& other, int64_t src_row) {
  if (length_ != 0) throw Error("KV cache: can only share a prefix into an empty cache");
  const int64_t n = other.length_;
  if (n > capacity_) throw Error(cat("KV cache: prefix of ", n, " slots exceeds the capacity of ", capacity_));
  for (int64_t l = 0; l < shape_.layers; ++l) {
    // [KVH, n, d] broadcast into [B, KVH, n, d]
    k_[l].narrow(2, 0, n).copy_(other.k_[l][src_row].narrow(1, 0, n).unsqueeze(0));
    v_[l].narrow(2, 0, n).copy_(other.v_[l][src_row].narrow(1, 0, n).unsqueeze(0));
  }
  length_ = n;
  set_row_starts(std::vector<int64_t>(static_cast<size_t>(batch_), other.row_start_.at(static_cast<size_t>(src_row))));
}

void KVCache::mark_written(int64_t n) {
  if (n < 0 || length_ + n > capacity_) {
    throw Error(cat("KV cache: cannot mark ", n, " more slots written after ", length_, " of ", capacity_));
  }
  length_ += n;
}

KVCache KVCache::leading_rows(int64_t n) {
  if (n < 1 || n > batch_) throw Error(cat("KV cache: cannot view ", n, " of ", batch_, " rows"));
  KVCache view;
  view.shape_ = shape_;
  view.batch_ = n;
  view.capacity_ = capacity_;
  view.length_ = length_;
  view.row_start_.assign(row_start_.begin(), row_start_.begin() + n);
  view.row_start_tensor_ = row_start_tensor_.narrow(0, 0, n);
  for (int64_t l = 0; l < shape_.layers; ++l) {
    view.k_.push_back(k_[l].narrow(0, 0, n));
    view.v_.push_back(v_[l].narrow(0, 0, n));
  }
  view.decode_workspace_ = decode_workspace_;
  return view;
}

void KVCache::copy_row(int64_t dst, int64_t src) {
  if (dst == src) return;
  const int64_t start = row_start_.at(static_cast<size_t>(src)), n = length_ - start;
  for (int64_t l = 0; l < shape_.layers; ++l) {
    k_[l][dst].narrow(1, start, n).copy_(k_[l][src].narrow(1, start, n));
    v_[l][dst].narrow(1, start, n).copy_(v_[l][src].narrow(1, start, n));
  }
  row_start_.at(static_cast<size_t>(dst)) = start;
  set_row_starts(row_start_);
}

void KVCache::place_rows(int64_t dst, int64_t count, const KVCache& single) {
  const int64_t n = single.length_ - single.row_start_.at(0);
  if (dst < 0 || count < 1 || dst + count > batch_ || n > length_) {
    throw Error(cat("KV cache: cannot place a ", n, "-token prompt into rows ", dst, "..", dst + count - 1, " of ",
                    batch_, " at slot ", length_));
  }
  const int64_t start = length_ - n;
  for (int64_t l = 0; l < shape_.layers; ++l) {
    k_[l].narrow(0, dst, count).narrow(2, start, n).copy_(single.k_[l][0].narrow(1, single.row_start_[0], n).unsqueeze(0));
    v_[l].narrow(0, dst, count).narrow(2, start, n).copy_(single.v_[l][0].narrow(1, single.row_start_[0], n).unsqueeze(0));
  }
  for (int64_t b = dst; b < dst + count; ++b) row_start_[static_cast<size_t>(b)] = start;
  set_row_starts(row_start_);
}

void KVCache::shift_slots(int64_t by, int64_t rows) {
  if (by == 0 || rows == 0) {
    length_ = std::max<int64_t>(length_ + by, 0);
    return;
  }
  int64_t first = length_;
  for (int64_t b = 0; b < rows; ++b) first = std::min(first, row_start_.at(static_cast<size_t>(b)));
  if (first + by < 0 || length_ + by > capacity_) {
    throw Error(cat("KV cache: cannot move slots ", first, "..", length_, " by ", by, " within ", capacity_));
  }
  const int64_t n = length_ - first;
  for (int64_t l = 0; l < shape_.layers; ++l) {
    // Through a copy: the source and target ranges may overlap.
    at::Tensor k = k_[l].narrow(0, 0, rows).narrow(2, first, n).clone();
    at::Tensor v = v_[l].narrow(0, 0, rows).narrow(2, first, n).clone();
    k_[l].narrow(0, 0, rows).narrow(2, first + by, n).copy_(k);
    v_[l].narrow(0, 0, rows).narrow(2, first + by, n).copy_(v);
  }
  length_ += by;
  for (auto& s : row_start_) s = std::clamp<int64_t>(s + by, 0, length_);
  set_row_starts(row_start_);
}

int64_t KVCache::bytes() const {
  int64_t total = 0;
  for (const auto& t : k_) total += t.numel() * static_cast<int64_t>(t.element_size());
  return 2 * total;
}

int64_t KVCache::bytes_for(const CacheShape& shape, int64_t batch, int64_t capacity, at::ScalarType dtype) {
  return 2 * shape.layers * batch * shape.kv_heads * capacity * shape.head_dim *
         static_cast<int64_t>(c10::elementSize(dtype));
}

}  // namespace januskit::engine
