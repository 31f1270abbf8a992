// The zip central-directory reader on archives built here: classic and zip64 end records, local
// headers whose extra field differs from the central one, and damaged archives.
#include <gtest/gtest.h>

#include "io/zip_directory.hpp"
#include "io_test_util.hpp"

using namespace januskit;
using namespace januskit::io;
using januskit::test::Bytes;
using januskit::test::expect_error;
using januskit::test::make_zip;

namespace {
std::string entry_text(const Bytes& zip, const ZipEntry& e) {
  const auto b = zip_entry_bytes(zip, e, "a.pt");
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
}  // namespace

TEST(ZipDirectory, ReadsEntriesWithLocalExtraFields) {
  for (bool zip64 : {false, true}) {
    const Bytes zip = make_zip({{"archive/data.pkl", "PICKLE"}, {"archive/data/0", std::string(40, 'x')}}, zip64, 0, 0,
                               "a comment");
    const auto entries = read_zip_directory(zip, "a.pt");
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].name, "archive/data.pkl");
    EXPECT_EQ(entries[1].size, 40u);
    EXPECT_EQ(entry_text(zip, entries[0]), "PICKLE");
    EXPECT_EQ(entry_text(zip, entries[1]), std::string(40, 'x'));
    const auto pkl = zip_entry_bytes(zip, entries[0], "a.pt");
    EXPECT_EQ(crc32(pkl), entries[0].crc32);
  }
}

TEST(ZipDirectory, Crc32MatchesTheStandardCheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())), 0xCBF43926u);
}

TEST(ZipDirectory, CompressedAndEncryptedEntriesAreRefusedWhenRead) {
  const Bytes deflated = make_zip({{"archive/data.pkl", "x"}}, false, 8);
  const auto entries = read_zip_directory(deflated, "a.pt");
  expect_error([&] { zip_entry_bytes(deflated, entries[0], "a.pt"); }, {"a.pt: ", "archive/data.pkl", "is compressed", "deflate"});
  const Bytes encrypted = make_zip({{"archive/data.pkl", "x"}}, false, 0, 1);
  expect_error([&] { zip_entry_bytes(encrypted, read_zip_directory(encrypted, "a.pt")[0], "a.pt"); }, {"is encrypted"});
}

TEST(ZipDirectory, EveryPrefixIsAnErrorNotACrash) {
  const Bytes zip = make_zip({{"archive/data.pkl", "PICKLE"}, {"archive/data/0", "0123456789"}}, true);
  for (size_t n = 0; n < zip.size(); ++n) {
    const Bytes prefix(zip.begin(), zip.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      for (const ZipEntry& e : read_zip_directory(prefix, "a.pt")) zip_entry_bytes(prefix, e, "a.pt");
      ADD_FAILURE() << "a prefix of " << n << " bytes was accepted";
    } catch (const FileError&) {
    }
  }
}

TEST(ZipDirectory, DamagedDirectoriesNameTheProblem) {
  const Bytes good = make_zip({{"archive/data.pkl", "PICKLE"}});
  const size_t eocd = good.size() - 22;
  {
    Bytes b = good;
    b[eocd + 10] = 200;  // 200 entries in a directory that holds one
    b[eocd + 8] = 200;
    expect_error([&] { read_zip_directory(b, "a.pt"); }, {"claims 200 entries"});
  }
  {
    Bytes b = good;
    b[eocd + 16] = 0xF0;  // directory offset past the end
    b[eocd + 19] = 0x7F;
    expect_error([&] { read_zip_directory(b, "a.pt"); }, {"central directory", "runs past the end of the file"});
  }
  {
    Bytes b = good;
    b[eocd + 4] = 1;  // disk number
    expect_error([&] { read_zip_directory(b, "a.pt"); }, {"multi-disk"});
  }
  {
    Bytes b = good;
    b[0] = 'X';  // local header signature
    const auto entries = read_zip_directory(b, "a.pt");
    expect_error([&] { zip_entry_bytes(b, entries[0], "a.pt"); }, {"no local header"});
  }
  expect_error([] { read_zip_directory(Bytes(100, 0), "a.pt"); }, {"not a zip archive"});
  expect_error([] { read_zip_directory(Bytes(3, 0), "a.pt"); }, {"too short"});
}

TEST(ZipDirectory, SaturatedSizesNeedTheZip64ExtraField) {
  Bytes b = make_zip({{"archive/data.pkl", "PICKLE"}});
  const size_t central = b.size() - 22 - (46 + 16);
  b[central + 24] = b[central + 25] = b[central + 26] = b[central + 27] = 0xFF;  // uncompressed size
  expect_error([&] { read_zip_directory(b, "a.pt"); }, {"no zip64 extra field"});
}
