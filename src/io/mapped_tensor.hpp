// Tensors that are views of a mapped file, and the file-dtype <-> LibTorch dtype mapping.
//
// Design: a view's at::Storage carries a DataPtr whose context owns a shared_ptr to the MappedFile,
// so the mapping lives exactly as long as the last tensor that uses it. One Storage per stored
// buffer: tensors that shared a storage when they were saved share it again here (same data
// pointer, zero copy).
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <string>

#include "io/dtype.hpp"
#include "io/mapped_file.hpp"
#include "io/safetensors_header.hpp"

namespace januskit::io {

at::ScalarType to_scalar_type(DType t);
// nullopt for LibTorch types no checkpoint format here stores (complex, quantized, ...).
std::optional<DType> to_file_dtype(at::ScalarType t);
// "f32", "bf16", "f8_e4m3", "i64", ... (LibTorch's name for anything else).
std::string short_dtype_name(at::ScalarType t);

// format_shape for LibTorch sizes ("[2, 3]").
inline std::string format_shape(at::IntArrayRef shape) { return format_shape(shape.vec()); }

// A byte storage over [offset, offset + nbytes) of the mapping; the caller has checked the range.
at::Storage mapped_storage(const MappedFilePtr& file, uint64_t offset, uint64_t nbytes);

// A tensor of `dtype` on `storage` at element offset `offset` with the given sizes and strides.
at::Tensor view_of(const at::Storage& storage, at::ScalarType dtype, int64_t offset, at::IntArrayRef sizes,
                   at::IntArrayRef strides);

}  // namespace januskit::io
