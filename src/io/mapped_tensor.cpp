#include "io/mapped_tensor.hpp"

#include "core/device.hpp"

namespace januskit::io {
namespace {

// The DataPtr context: keeps the mapping alive; deleted when LibTorch frees the storage.
void release_mapping(void* context) { delete static_cast<MappedFilePtr*>(context); }

}  // namespace

at::ScalarType to_scalar_type(DType t) {
  switch (t) {
    case DType::F64: return at::kDouble;
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::F8_E4M3: return at::kFloat8_e4m3fn;
    case DType::F8_E5M2: return at::kFloat8_e5m2;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I16: return at::kShort;
    case DType::I8: return at::kChar;
    case DType::U64: return at::kUInt64;
    case DType::U32: return at::kUInt32;
    case DType::U16: return at::kUInt16;
    case DType::U8: return at::kByte;
    case DType::BOOL: return at::kBool;
  }
  return at::kByte;
}

std::optional<DType> to_file_dtype(at::ScalarType t) {
  for (int i = 0; i <= static_cast<int>(DType::BOOL); ++i) {
    if (to_scalar_type(static_cast<DType>(i)) == t) return static_cast<DType>(i);
  }
  return std::nullopt;
}

std::string short_dtype_name(at::ScalarType t) {
  if (auto d = to_file_dtype(t)) return std::string(dtype_short_name(*d));
  return dtype_name(t);
}

at::Storage mapped_storage(const MappedFilePtr& file, uint64_t offset, uint64_t nbytes) {
  // The mapping is private (and usually writable: see MappedFile); LibTorch wants a mutable pointer.
  void* data = const_cast<uint8_t*>(file->data()) + offset;
  auto* context = new MappedFilePtr(file);
  at::DataPtr ptr(data, context, &release_mapping, at::Device(at::kCPU));
  return at::Storage(at::Storage::use_byte_size_t(), static_cast<size_t>(nbytes), std::move(ptr),
                     /*allocator=*/nullptr, /*resizable=*/false);
}

at::Tensor view_of(const at::Storage& storage, at::ScalarType dtype, int64_t offset, at::IntArrayRef sizes,
                   at::IntArrayRef strides) {
  return at::empty({0}, at::TensorOptions().dtype(dtype)).set_(storage, offset, sizes, strides);
}

}  // namespace januskit::io
