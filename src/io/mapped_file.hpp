// A whole file mapped into memory, read-only from the file's point of view.
//
// Design: checkpoints are read through mmap so that opening a 10 GB shard costs nothing and a tensor
// costs only the pages it touches; several tensors (and several shards) share one page cache copy.
// The mapping is private and, where the kernel allows it, writable: a model that modifies a weight
// in place gets private copy-on-write pages instead of a segmentation fault, and the file itself is
// never written. Ownership is shared (std::shared_ptr) so that tensor views keep the mapping alive
// after the reader that made them is gone. No LibTorch here: the fuzz targets link this layer alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace januskit::io {

class MappedFile {
 public:
  // Throws FileError naming the path when the file cannot be opened, stat'ed or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The file's bytes; empty (and data() null) for an empty file.
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  // Base pointer of the mapping, for tests that check views really share it.
  const void* base() const { return data_; }

  // Drops the pages covering [offset, offset + length) from this process's resident set (the page
  // cache keeps them; a later access faults them in again from the file). convert calls this after
  // each tensor so that streaming through a 10 GB file does not leave 10 GB resident.
  void release(uint64_t offset, uint64_t length) const;

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

using MappedFilePtr = std::shared_ptr<const MappedFile>;

}  // namespace januskit::io
