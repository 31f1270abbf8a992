// PyTorch zip checkpoints (torch.save since torch 1.6: .bin, .pt, .pth) read without Python and
// without executing anything from the file.
//
// Layout: a zip archive of STORED entries under one top folder ("archive/", or the file's stem):
//   <top>/data.pkl      the pickled state dict; tensors refer to storages by persistent id
//   <top>/data/<key>    the raw little-endian bytes of each storage
//   <top>/byteorder     "little" (absent in older files, which are little-endian too)
// Design: the file is mapped; io/zip_directory finds the entries (zip64 included), io/pickle runs the
// restricted unpickler, and every storage becomes one at::Storage over its bytes in the mapping, so
// tensors that shared a storage in Python share it here, with their offsets and strides (zero copy).
// The legacy pre-1.6 format (a bare pickle stream) is refused with instructions.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "io/mapped_file.hpp"
#include "io/pickle.hpp"

namespace januskit::io {

class TorchZipFile {
 public:
  // Throws FileError naming the file and the problem (refused global, compressed entry, missing
  // storage, legacy format, truncation, ...).
  static TorchZipFile open(const std::filesystem::path& path);

  const std::vector<PickledTensor>& tensors() const { return pickle_.tensors; }
  const StateDictPickle& pickle() const { return pickle_; }
  // Zero-copy CPU view of tensors()[index], in the file's dtype, with the saved offset and strides.
  at::Tensor view(size_t index) const;
  // Byte range of the storage behind tensors()[index] in the file.
  std::pair<uint64_t, uint64_t> file_range(size_t index) const;
  const MappedFilePtr& mapping() const { return file_; }

 private:
  MappedFilePtr file_;
  StateDictPickle pickle_;
  std::vector<at::Storage> storages_;       // parallel to pickle_.storages
  std::vector<uint64_t> storage_offsets_;   // where each storage's bytes start in the file
};

// True when the bytes start like a zip archive (what torch.save writes).
bool looks_like_zip(std::span<const uint8_t> bytes);
// True when the bytes start with the legacy (pre-1.6) torch.save magic number, a pickled
// 0x1950a86a20f9469cfc6c. The full 14 bytes, not just a pickle PROTO: a safetensors file whose
// header length is 640 also starts with 0x80 0x02.
bool looks_like_legacy_torch(std::span<const uint8_t> bytes);

}  // namespace januskit::io
