// Helpers for the io tests: a temporary folder, byte builders for pickles, zips and safetensors
// headers, and an assertion that a call throws januskit::Error mentioning given substrings.
#pragma once

#include "io/checkpoint.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace januskit::test {

using Bytes = std::vector<uint8_t>;



inline void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void put_le(Bytes& b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>((v >> (8 * i)) & 0xFF));
}

inline void append(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

// Runs f, expects a januskit::Error whose message contains every needle; returns the message.
inline std::string expect_error(const std::function<void()>& f, std::initializer_list<std::string_view> needles) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (std::string_view n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "missing '" << n << "' in: " << msg;
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-januskit exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "did not throw";
  return {};
}

// Pickle opcodes by hand (protocol 2 unless told otherwise).
class PickleBuilder {
 public:
  explicit PickleBuilder(int protocol = 2) { b_ = {0x80, static_cast<uint8_t>(protocol)}; }
  PickleBuilder& op(std::initializer_list<uint8_t> bytes) {
    b_.insert(b_.end(), bytes);
    return *this;
  }
  PickleBuilder& raw(std::string_view s) {
    append(b_, s);
    return *this;
  }
  PickleBuilder& global(std::string_view module, std::string_view name) {
    b_.push_back('c');
    append(b_, module);
    b_.push_back('\n');
    append(b_, name);
    b_.push_back('\n');
    return *this;
  }
  PickleBuilder& str(std::string_view s) {
    b_.push_back('X');
    put_le(b_, s.size(), 4);
    append(b_, s);
    return *this;
  }
  PickleBuilder& i32(int32_t v) {
    b_.push_back('J');
    put_le(b_, static_cast<uint32_t>(v), 4);
    return *this;
  }
  PickleBuilder& ints(std::initializer_list<int32_t> values) {
    op({'('});
    for (int32_t v : values) i32(v);
    return op({'t'});
  }
  PickleBuilder& ordered_dict() { return global("collections", "OrderedDict").op({')', 'R'}); }
  // _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, sizes, strides, False, OrderedDict())
  PickleBuilder& tensor(std::string_view key, std::string_view storage_type, int32_t numel, int32_t offset,
                        std::initializer_list<int32_t> sizes, std::initializer_list<int32_t> strides) {
    global("torch._utils", "_rebuild_tensor_v2").op({'('});
    op({'('}).str("storage").global("torch", storage_type).str(key).str("cpu").i32(numel).op({'t', 'Q'});
    i32(offset).ints(sizes).ints(strides).op({0x89}).ordered_dict();
    return op({'t', 'R'});
  }
  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  std::vector<uint8_t> b_;
};

// A zip archive of stored entries, optionally with zip64 end records (sizes stay 32-bit).
inline Bytes make_zip(const std::vector<std::pair<std::string, std::string>>& entries, bool zip64_end = false,
                      uint16_t method = 0, uint16_t flags = 0, std::string_view comment = "") {
  Bytes out, central;
  auto crc = [](std::string_view s) {
    uint32_t c = 0xFFFFFFFFu;
    for (unsigned char ch : s) {
      c ^= ch;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
  };
  for (const auto& [name, data] : entries) {
    const uint64_t offset = out.size();
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2);
    put_le(out, flags, 2);
    put_le(out, method, 2);
    put_le(out, 0, 4);
    put_le(out, crc(data), 4);
    put_le(out, data.size(), 4);
    put_le(out, data.size(), 4);
    put_le(out, name.size(), 2);
    put_le(out, 3, 2);  // a local extra field the central header does not have
    append(out, name);
    append(out, "\xAA\xBB\xCC");
    append(out, data);
    put_le(central, 0x02014b50, 4);
    put_le(central, 20, 2);
    put_le(central, 20, 2);
    put_le(central, flags, 2);
    put_le(central, method, 2);
    put_le(central, 0, 4);
    put_le(central, crc(data), 4);
    put_le(central, data.size(), 4);
    put_le(central, data.size(), 4);
    put_le(central, name.size(), 2);
    put_le(central, 0, 2);
    put_le(central, 0, 2);
    put_le(central, 0, 2);
    put_le(central, 0, 2);
    put_le(central, 0, 4);
    put_le(central, offset, 4);
    append(central, name);
  }
  const uint64_t cd_offset = out.size();
  out.insert(out.end(), central.begin(), central.end());
  if (zip64_end) {
    const uint64_t rec = out.size();
    put_le(out, 0x06064b50, 4);
    put_le(out, 44, 8);
    put_le(out, 45, 2);
    put_le(out, 45, 2);
    put_le(out, 0, 4);
    put_le(out, 0, 4);
    put_le(out, entries.size(), 8);
    put_le(out, entries.size(), 8);
    put_le(out, central.size(), 8);
    put_le(out, cd_offset, 8);
    put_le(out, 0x07064b50, 4);
    put_le(out, 0, 4);
    put_le(out, rec, 8);
    put_le(out, 1, 4);
  }
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 2);
  put_le(out, 0, 2);
  put_le(out, zip64_end ? 0xFFFF : entries.size(), 2);
  put_le(out, zip64_end ? 0xFFFF : entries.size(), 2);
  put_le(out, zip64_end ? 0xFFFFFFFF : central.size(), 4);
  put_le(out, zip64_end ? 0xFFFFFFFF : cd_offset, 4);
  put_le(out, comment.size(), 2);
  append(out, comment);
  return out;
}

// 8-byte length + header text (+ padding spaces) + data.
inline Bytes make_safetensors(std::string_view header, const Bytes& data = {}, bool pad = true) {
  std::string text(header);
  if (pad) text.append((8 - text.size() % 8) % 8, ' ');
  Bytes b;
  put_le(b, text.size(), 8);
  append(b, text);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// The same tensor names, and for each the same dtype, shape and values (a converted folder against a
// reference one).
inline void expect_same_tensors(const io::Checkpoint& ours, const io::Checkpoint& ref) {
  EXPECT_EQ(ours.names(), ref.names());
  for (const std::string& name : ref.names()) {
    if (!ours.contains(name)) continue;
    const at::Tensor a = ours.view(name), b = ref.view(name);
    EXPECT_EQ(a.scalar_type(), b.scalar_type()) << name;
    EXPECT_TRUE(a.sizes() == b.sizes() && at::equal(a, b)) << name;
  }
}

}  // namespace januskit::test
