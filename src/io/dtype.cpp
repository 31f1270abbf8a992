#include "io/dtype.hpp"

#include <array>

namespace januskit::io {
namespace {

struct DTypeRow {
  DType type;
  int size;
  std::string_view safetensors;
  std::string_view short_name;
  bool is_float;
};

constexpr std::array<DTypeRow, 15> kTable{{
    {DType::F64, 8, "F64", "f64", true},
    {DType::F32, 4, "F32", "f32", true},
    {DType::F16, 2, "F16", "f16", true},
    {DType::BF16, 2, "BF16", "bf16", true},
    {DType::F8_E4M3, 1, "F8_E4M3", "f8_e4m3", true},
    {DType::F8_E5M2, 1, "F8_E5M2", "f8_e5m2", true},
    {DType::I64, 8, "I64", "i64", false},
    {DType::I32, 4, "I32", "i32", false},
    {DType::I16, 2, "I16", "i16", false},
    {DType::I8, 1, "I8", "i8", false},
    {DType::U64, 8, "U64", "u64", false},
    {DType::U32, 4, "U32", "u32", false},
    {DType::U16, 2, "U16", "u16", false},
    {DType::U8, 1, "U8", "u8", false},
    {DType::BOOL, 1, "BOOL", "bool", false},
}};

// Rows are indexed by the enum's value: the table must list every DType in declaration order.
static_assert(kTable.size() == static_cast<size_t>(DType::BOOL) + 1);
constexpr bool table_in_order() {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<size_t>(kTable[i].type) != i) return false;
  }
  return true;
}
static_assert(table_in_order());

const DTypeRow& row(DType t) { return kTable[static_cast<size_t>(t)]; }

}  // namespace

int dtype_size(DType t) { return row(t).size; }
std::string_view dtype_safetensors_name(DType t) { return row(t).safetensors; }
std::string_view dtype_short_name(DType t) { return row(t).short_name; }
bool dtype_is_float(DType t) { return row(t).is_float; }

std::optional<DType> dtype_from_safetensors_name(std::string_view name) {
  for (const DTypeRow& r : kTable) {
    if (r.safetensors == name) return r.type;
  }
  return std::nullopt;
}

}  // namespace januskit::io
