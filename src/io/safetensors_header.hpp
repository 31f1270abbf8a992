// The safetensors header: parsed and validated in full before any tensor byte is touched.
//
// File layout: 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"k": "v"}, "name": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]}, ...}
// then the data area; offsets are relative to its start (byte 8 + N).
//
// Design: this is the part of the reader that sees untrusted bytes, so it is LibTorch-free (the
// libFuzzer target builds it with clang alone) and checks everything a later step relies on: the
// length is bounded and inside the file, the JSON is an object without duplicate names, every dtype
// is known, shapes are non-negative, offsets lie inside the data area, tensors neither overlap nor
// leave gaps (the format forbids gaps, and the reference implementation rejects them), and
// prod(shape) * itemsize == end - begin with overflow checks. Every failure is a FileError naming
// the file, the tensor and what to do.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/dtype.hpp"

namespace januskit::io {

// The reference implementation's bound; real headers are well under 1 MB.
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;
// More dimensions than any model uses; bounds the work per entry.
inline constexpr size_t kMaxTensorRank = 64;

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // relative to the data area
  uint64_t end = 0;
};

struct SafetensorsHeader {
  uint64_t data_offset = 0;  // where the data area starts in the file: 8 + N
  uint64_t data_size = 0;
  std::vector<SafetensorsEntry> tensors;  // sorted by position in the data area
  std::map<std::string, std::string> metadata;
};

// `file` is the whole file (a mapping); `path` only names it in error messages.
SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file, std::string_view path);

// "[2, 3]": shapes in messages and listings (LibTorch's IntArrayRef converts implicitly).
std::string format_shape(const std::vector<int64_t>& shape);

}  // namespace januskit::io
