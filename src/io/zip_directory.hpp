// The central directory of a zip archive, as torch.save writes them (PyTorch's zip checkpoints).
//
// Design: januskit never decompresses; torch.save stores every entry uncompressed ("STORED") so
// that tensors can be used in place from a memory mapping. This reader finds the end-of-central-
// directory record (and the zip64 locator/record that archives over 4 GB, such as Janus-Pro-7B's
// 9.99 GB shard, need), walks the central directory with zip64 extra fields for sizes and offsets,
// and resolves each entry's data start from its *local* header, whose extra field (PyTorch pads it
// to align tensor data) differs from the central one. Every offset and size is checked against the
// file; nothing is trusted. LibTorch-free for the fuzz target.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace januskit::io {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 = stored; anything else is compressed
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;  // uncompressed
  uint64_t local_header_offset = 0;
};

// Every entry of the central directory, in directory order. Throws FileError(path, ...) for a file
// that is not a zip archive, a multi-disk archive, or any size/offset outside the file.
std::vector<ZipEntry> read_zip_directory(std::span<const uint8_t> file, std::string_view path);

// Where the entry's bytes start: after its local header, name and local extra field. Checks that the
// entry is stored (not compressed) and not encrypted, and that its bytes lie inside the file.
uint64_t zip_entry_data_offset(std::span<const uint8_t> file, const ZipEntry& entry, std::string_view path);

// The entry's bytes (a view into `file`), checked as above.
std::span<const uint8_t> zip_entry_bytes(std::span<const uint8_t> file, const ZipEntry& entry, std::string_view path);

// CRC-32 (IEEE, as zip uses it).
uint32_t crc32(std::span<const uint8_t> bytes);

}  // namespace januskit::io
