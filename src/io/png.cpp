#include "io/png.hpp"

#include <array>
#include <cstring>
#include <fstream>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>

namespace januskit::io {
namespace {

constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t crc32(const std::string& bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_be32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xFF);
}

uint32_t get_be32(const std::string& s, size_t i) {
  return (uint32_t(uint8_t(s[i])) << 24) | (uint32_t(uint8_t(s[i + 1])) << 16) | (uint32_t(uint8_t(s[i + 2])) << 8) |
         uint32_t(uint8_t(s[i + 3]));
}

// Latin-1 text fits a tEXt chunk only if it is plain ASCII when read as UTF-8.
bool is_ascii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

std::string chunk(const std::string& type, const std::string& data) {
  std::string body = type + data;
  std::string out;
  put_be32(out, static_cast<uint32_t>(data.size()));
  out += body;
  put_be32(out, crc32(body));
  return out;
}

std::string text_chunk(const std::string& keyword, const std::string& text) {
  if (keyword.empty() || keyword.size() > 79) throw Error(cat("PNG text keyword '", keyword, "' must be 1-79 characters"));
  if (is_ascii(text)) return chunk("tEXt", keyword + '\0' + text);
  // iTXt: keyword, 0, compression flag 0, method 0, empty language tag, empty translated keyword, UTF-8 text.
  return chunk("iTXt", keyword + '\0' + '\0' + '\0' + '\0' + '\0' + text);
}

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

std::string encode_png(const uint8_t* rgb, int64_t width, int64_t height,
                       const std::vector<std::pair<std::string, std::string>>& text) {
  std::string png;
  if (stbi_write_png_to_func(append_bytes, &png, static_cast<int>(width), static_cast<int>(height), 3, rgb,
                             static_cast<int>(width * 3)) == 0) {
    throw Error(cat("PNG encoding failed for a ", width, "x", height, " image"));
  }
  // Signature (8) + IHDR chunk (4 + 4 + 13 + 4 = 25): text chunks go right after it.
  constexpr size_t kAfterIhdr = 8 + 25;
  std::string chunks;
  for (const auto& [key, value] : text) chunks += text_chunk(key, value);
  png.insert(kAfterIhdr, chunks);
  return png;
}

void write_png(const std::filesystem::path& path, const uint8_t* rgb, int64_t width, int64_t height,
               const std::vector<std::pair<std::string, std::string>>& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  write_file_atomically(path, encode_png(rgb, width, height, text));
}

std::map<std::string, std::string> read_png_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path.string(), std::filesystem::exists(path) ? "cannot be read" : "not found");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) throw FileError(path.string(), "not a PNG file");
  std::map<std::string, std::string> out;
  size_t i = 8;
  while (i + 12 <= bytes.size()) {
    const uint32_t length = get_be32(bytes, i);
    if (length > bytes.size() - i - 12) throw FileError(path.string(), "corrupt PNG: a chunk runs past the end of the file");
    const std::string type = bytes.substr(i + 4, 4);
    const std::string data = bytes.substr(i + 8, length);
    if (crc32(type + data) != get_be32(bytes, i + 8 + length)) {
      throw FileError(path.string(), cat("corrupt PNG: bad checksum in a ", type, " chunk"));
    }
    if (type == "tEXt") {
      size_t zero = data.find('\0');
      if (zero != std::string::npos) out[data.substr(0, zero)] = data.substr(zero + 1);
    } else if (type == "iTXt") {
      size_t zero = data.find('\0');
      // keyword \0 flag method lang \0 translated \0 text; only uncompressed text is read
      if (zero != std::string::npos && zero + 2 < data.size() && data[zero + 1] == 0) {
        size_t lang_end = data.find('\0', zero + 3);
        size_t trans_end = lang_end == std::string::npos ? lang_end : data.find('\0', lang_end + 1);
        if (trans_end != std::string::npos) out[data.substr(0, zero)] = data.substr(trans_end + 1);
      }
    } else if (type == "IEND") {
      return out;
    }
    i += 12 + length;
  }
  throw FileError(path.string(), "truncated PNG (no IEND chunk)");
}

}  // namespace januskit::io
