// safetensors files: a memory-mapped reader whose tensors are zero-copy views, and writers.
//
// Design: open() maps the file and validates the whole header (io/safetensors_header.hpp) before
// any view exists; a view shares the mapping, so it stays valid after the SafetensorsFile is gone.
// The writers produce files the reference implementation reads: the header is padded with spaces so
// the data area starts at a multiple of 8, and tensors are laid out largest element size first (then
// by name), which aligns every tensor to its element size without the gaps the format forbids.
// Writes are atomic (io/atomic_file.hpp) and streaming: SafetensorsWriter fixes the layout from
// names, dtypes and shapes first, then takes one tensor at a time, so `convert` never holds a whole
// model in memory.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/atomic_file.hpp"
#include "io/mapped_file.hpp"
#include "io/safetensors_header.hpp"

namespace januskit::io {

class SafetensorsFile {
 public:
  // Throws FileError naming the file and the problem (see safetensors_header.hpp for the checks).
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::vector<SafetensorsEntry>& tensors() const { return header_.tensors; }  // in data order
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  // Zero-copy CPU view of tensors()[index] in the file's dtype.
  at::Tensor view(size_t index) const;
  // Byte range of tensors()[index] in the file.
  std::pair<uint64_t, uint64_t> file_range(size_t index) const;
  const MappedFilePtr& mapping() const { return file_; }

 private:
  MappedFilePtr file_;
  SafetensorsHeader header_;
  at::Storage storage_;  // the whole data area, shared by every view
};

struct TensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

// Streaming writer: the layout is fixed by the constructor, tensors come one at a time in any order.
class SafetensorsWriter {
 public:
  SafetensorsWriter(std::filesystem::path path, std::vector<TensorSpec> specs,
                    const std::map<std::string, std::string>& metadata = {});
  // `tensor` must have the spec's shape and dtype; it may live anywhere and be non-contiguous.
  void write(const std::string& name, const at::Tensor& tensor);
  // Checks every tensor was written, then fsync + rename. Without commit() the file is not created.
  void commit();
  // Bytes the finished file takes.
  uint64_t file_size() const { return data_offset_ + data_size_; }

 private:
  struct Slot {
    TensorSpec spec;
    uint64_t begin = 0, end = 0;
    bool written = false;
  };
  AtomicFile file_;
  std::vector<Slot> slots_;
  std::map<std::string, size_t> index_;
  uint64_t data_offset_ = 0, data_size_ = 0;
};

// Writes named tensors to one file atomically (non-contiguous and non-CPU tensors are copied).
void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The layout both writers use: specs sorted by element size (largest first), then name.
std::vector<TensorSpec> safetensors_order(std::vector<TensorSpec> specs);

}  // namespace januskit::io
