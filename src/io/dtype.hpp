// Element types as checkpoint files spell them, independent of LibTorch.
//
// Design: the file parsers (safetensors header, zip directory, unpickler) are LibTorch-free so that
// the libFuzzer targets can build them with clang alone; they describe tensors with this enum. The
// mapping to at::ScalarType lives in io/mapped_tensor.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace januskit::io {

enum class DType : uint8_t {
  F64, F32, F16, BF16, F8_E4M3, F8_E5M2,
  I64, I32, I16, I8,
  U64, U32, U16, U8,
  BOOL,
};

// Bytes per element.
int dtype_size(DType t);
// The safetensors spelling: "F32", "BF16", "F8_E4M3", "BOOL", ...
std::string_view dtype_safetensors_name(DType t);
std::optional<DType> dtype_from_safetensors_name(std::string_view name);
// Short spelling used in januskit's output: "f32", "bf16", "f8_e4m3", "i64", "bool", ...
std::string_view dtype_short_name(DType t);
// Floating point (including float8).
bool dtype_is_float(DType t);

// a * b and a + b, false on overflow of uint64_t (checked arithmetic for sizes read from files).
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
inline bool checked_add(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }

}  // namespace januskit::io
