#include "io/zip_directory.hpp"

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "io/dtype.hpp"

namespace januskit::io {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EndMinSize = 56;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;

// Bounds-checked little-endian reads from the file: every read goes through here.
class Reader {
 public:
  Reader(std::span<const uint8_t> file, std::string_view path) : file_(file), path_(path) {}

  bool fits(uint64_t offset, uint64_t length) const {
    return offset <= file_.size() && length <= file_.size() - offset;
  }
  void need(uint64_t offset, uint64_t length, std::string_view what) const {
    if (!fits(offset, length)) {
      fail(cat(what, " at offset ", offset, " runs past the end of the file (", file_.size(),
               " bytes); the file is truncated or corrupt"));
    }
  }
  uint64_t le(uint64_t offset, int bytes) const {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | file_[offset + static_cast<uint64_t>(i)];
    return v;
  }
  uint16_t u16(uint64_t offset) const { return static_cast<uint16_t>(le(offset, 2)); }
  uint32_t u32(uint64_t offset) const { return static_cast<uint32_t>(le(offset, 4)); }
  uint64_t u64(uint64_t offset) const { return le(offset, 8); }
  uint64_t size() const { return file_.size(); }
  std::string_view text(uint64_t offset, uint64_t length) const {
    return {reinterpret_cast<const char*>(file_.data() + offset), length};
  }
  [[noreturn]] void fail(const std::string& problem) const { throw FileError(path_, problem); }

 private:
  std::span<const uint8_t> file_;
  std::string path_;
};

struct EndRecord {
  uint64_t entries = 0;
  uint64_t directory_size = 0;
  uint64_t directory_offset = 0;
};

// The end record sits in the last 22 + 65535 bytes (its comment is at most 65535 bytes). Scanning
// backwards finds the last signature whose comment length reaches exactly the end of the file.
uint64_t find_end_record(const Reader& r) {
  if (r.size() < kEndSize) r.fail("not a zip archive (too short for an end-of-central-directory record)");
  const uint64_t lowest = r.size() > kEndSize + 0xFFFF ? r.size() - kEndSize - 0xFFFF : 0;
  for (uint64_t pos = r.size() - kEndSize + 1; pos-- > lowest;) {
    if (r.u32(pos) == kEndSig && pos + kEndSize + r.u16(pos + 20) == r.size()) return pos;
  }
  // A comment that does not reach the end (extra bytes appended): accept the last signature found.
  for (uint64_t pos = r.size() - kEndSize + 1; pos-- > lowest;) {
    if (r.u32(pos) == kEndSig) return pos;
  }
  r.fail("not a zip archive (no end-of-central-directory record); the file is truncated or not a torch zip checkpoint");
}

EndRecord read_end_records(const Reader& r) {
  const uint64_t pos = find_end_record(r);
  if (r.u16(pos + 4) != 0 || r.u16(pos + 6) != 0) r.fail("multi-disk zip archives are not supported");
  EndRecord end{r.u16(pos + 10), r.u32(pos + 12), r.u32(pos + 16)};
  const bool maybe_zip64 = end.entries == 0xFFFF || end.directory_size == 0xFFFFFFFF || end.directory_offset == 0xFFFFFFFF;
  const bool has_locator = pos >= kZip64LocatorSize && r.u32(pos - kZip64LocatorSize) == kZip64LocatorSig;
  if (!has_locator) {
    if (maybe_zip64 && end.directory_offset == 0xFFFFFFFF) {
      r.fail("zip64 archive without its zip64 end-of-central-directory locator; the file is corrupt");
    }
    return end;
  }
  const uint64_t loc = pos - kZip64LocatorSize;
  if (r.u32(loc + 4) != 0 || r.u32(loc + 16) > 1) r.fail("multi-disk zip64 archives are not supported");
  const uint64_t rec = r.u64(loc + 8);
  r.need(rec, kZip64EndMinSize, "zip64 end-of-central-directory record");
  if (r.u32(rec) != kZip64EndSig) r.fail(cat("no zip64 end-of-central-directory record at offset ", rec, "; the file is corrupt"));
  if (r.u32(rec + 16) != 0 || r.u32(rec + 20) != 0) r.fail("multi-disk zip64 archives are not supported");
  end.entries = r.u64(rec + 32);
  end.directory_size = r.u64(rec + 40);
  end.directory_offset = r.u64(rec + 48);
  return end;
}

// The zip64 extra field holds, in this order, only the values whose 32-bit (16-bit for the disk)
// central field is saturated: uncompressed size, compressed size, local header offset, disk.
void apply_zip64_extra(const Reader& r, uint64_t extra, uint64_t extra_len, ZipEntry& e, bool need_size,
                       bool need_compressed, bool need_offset) {
  uint64_t p = extra;
  const uint64_t end = extra + extra_len;
  while (p + 4 <= end) {
    const uint16_t id = r.u16(p);
    const uint16_t len = r.u16(p + 2);
    if (p + 4 + len > end) break;  // a malformed trailing field: the checks below report what is missing
    if (id == kZip64ExtraId) {
      uint64_t q = p + 4;
      const uint64_t q_end = q + len;
      auto take = [&](bool wanted, uint64_t& field) {
        if (!wanted) return;
        if (q + 8 > q_end) r.fail(cat("zip entry '", e.name, "': zip64 extra field is too short"));
        field = r.u64(q);
        q += 8;
      };
      take(need_size, e.size);
      take(need_compressed, e.compressed_size);
      take(need_offset, e.local_header_offset);
      return;
    }
    p += 4 + len;
  }
  if (need_size || need_compressed || need_offset) {
    r.fail(cat("zip entry '", e.name, "' has saturated 32-bit sizes but no zip64 extra field; the file is corrupt"));
  }
}

}  // namespace

std::vector<ZipEntry> read_zip_directory(std::span<const uint8_t> file, std::string_view path) {
  const Reader r(file, path);
  const EndRecord end = read_end_records(r);
  r.need(end.directory_offset, end.directory_size, "central directory");
  // Each central header takes at least 46 bytes: a count that cannot fit is a lie, not a loop bound.
  if (end.entries > end.directory_size / kCentralHeaderSize) {
    r.fail(cat("central directory claims ", end.entries, " entries in ", end.directory_size, " bytes; the file is corrupt"));
  }
  std::vector<ZipEntry> entries;
  entries.reserve(end.entries);
  uint64_t p = end.directory_offset;
  const uint64_t dir_end = end.directory_offset + end.directory_size;
  for (uint64_t i = 0; i < end.entries; ++i) {
    if (p + kCentralHeaderSize > dir_end || r.u32(p) != kCentralHeaderSig) {
      r.fail(cat("central directory entry ", i, " at offset ", p, " is damaged; the file is corrupt"));
    }
    ZipEntry e;
    e.flags = r.u16(p + 8);
    e.method = r.u16(p + 10);
    e.crc32 = r.u32(p + 16);
    e.compressed_size = r.u32(p + 20);
    e.size = r.u32(p + 24);
    const uint64_t name_len = r.u16(p + 28), extra_len = r.u16(p + 30), comment_len = r.u16(p + 32);
    const uint16_t disk = r.u16(p + 34);
    e.local_header_offset = r.u32(p + 42);
    const uint64_t record = kCentralHeaderSize + name_len + extra_len + comment_len;
    if (p + record > dir_end) r.fail(cat("central directory entry ", i, " runs past the directory; the file is corrupt"));
    e.name = std::string(r.text(p + kCentralHeaderSize, name_len));
    if (disk != 0 && disk != 0xFFFF) r.fail("multi-disk zip archives are not supported");
    apply_zip64_extra(r, p + kCentralHeaderSize + name_len, extra_len, e, e.size == 0xFFFFFFFF,
                      e.compressed_size == 0xFFFFFFFF, e.local_header_offset == 0xFFFFFFFF);
    entries.push_back(std::move(e));
    p += record;
  }
  return entries;
}

uint64_t zip_entry_data_offset(std::span<const uint8_t> file, const ZipEntry& e, std::string_view path) {
  const Reader r(file, path);
  const std::string where = cat("zip entry '", e.name, "'");
  if (e.flags & 0x1) r.fail(cat(where, " is encrypted; januskit reads only plain torch.save archives"));
  if (e.method != 0) {
    r.fail(cat(where, " is compressed (zip method ", e.method, e.method == 8 ? ", deflate" : "",
               "); torch.save stores entries uncompressed: re-save the checkpoint with torch.save, "
               "or convert it to safetensors in Python"));
  }
  if (e.compressed_size != e.size) {
    r.fail(cat(where, " is stored but its compressed size ", e.compressed_size, " differs from its size ", e.size,
               "; the file is corrupt"));
  }
  r.need(e.local_header_offset, kLocalHeaderSize, cat(where, ": local header"));
  if (r.u32(e.local_header_offset) != kLocalHeaderSig) {
    r.fail(cat(where, ": no local header at offset ", e.local_header_offset, "; the file is corrupt"));
  }
  const uint64_t name_len = r.u16(e.local_header_offset + 26), extra_len = r.u16(e.local_header_offset + 28);
  const uint64_t data = e.local_header_offset + kLocalHeaderSize + name_len + extra_len;
  r.need(data, e.size, where);
  return data;
}

std::span<const uint8_t> zip_entry_bytes(std::span<const uint8_t> file, const ZipEntry& e, std::string_view path) {
  const uint64_t data = zip_entry_data_offset(file, e, path);
  return file.subspan(data, e.size);
}

uint32_t crc32(std::span<const uint8_t> bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : bytes) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace januskit::io
