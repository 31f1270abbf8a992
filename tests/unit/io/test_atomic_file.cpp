// Atomic files and folders: complete results appear at once, abandoned ones leave nothing.
#include <gtest/gtest.h>

#include "io/atomic_file.hpp"
#include "io_test_util.hpp"

using namespace januskit;
using namespace januskit::io;
using januskit::test::expect_error;
using januskit::test::read_bytes;
using januskit::test::TempDir;

namespace {
std::string text_of(const std::filesystem::path& p) {
  const auto b = read_bytes(p);
  return std::string(b.begin(), b.end());
}
}  // namespace

TEST(AtomicFile, WritesAndReplaces) {
  TempDir dir;
  write_file_atomically(dir / "a.txt", "first");
  write_file_atomically(dir / "a.txt", "second");
  EXPECT_EQ(text_of(dir / "a.txt"), "second");
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, UncommittedWritesLeaveTheOldFile) {
  TempDir dir;
  write_file_atomically(dir / "a.txt", "old");
  {
    AtomicFile f(dir / "a.txt");
    f.write("half of the new");
    EXPECT_TRUE(std::filesystem::exists(f.temp_path()));
    EXPECT_EQ(f.temp_path().parent_path(), dir.path());
  }
  EXPECT_EQ(text_of(dir / "a.txt"), "old");
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"a.txt"});
}

TEST(AtomicFile, WriteAtFillsALayout) {
  TempDir dir;
  AtomicFile f(dir / "b.bin");
  f.write_at(4, "WXYZ", 4);
  f.write_at(0, "abcd", 4);
  f.commit();
  EXPECT_EQ(text_of(dir / "b.bin"), "abcdWXYZ");
}

TEST(AtomicFile, MissingFolderIsAnError) {
  TempDir dir;
  expect_error([&] { write_file_atomically(dir / "no" / "a.txt", "x"); }, {"a.txt", "cannot create a temporary file"});
}

TEST(AtomicDirectory, CommitRenamesAbandonRemoves) {
  TempDir dir;
  {
    AtomicDirectory out(dir / "out");
    write_file_synced(out.temp_path() / "x.json", "{}");
    EXPECT_TRUE(out.temp_path().filename().string().starts_with("out.tmp-"));
    EXPECT_FALSE(std::filesystem::exists(dir / "out"));
    out.commit();
  }
  EXPECT_EQ(text_of(dir / "out" / "x.json"), "{}");
  {
    AtomicDirectory abandoned(dir / "other");
    write_file_synced(abandoned.temp_path() / "y", "partial");
  }
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"out"});
}

TEST(AtomicDirectory, RefusesANonEmptyDestinationReplacesAnEmptyOne) {
  TempDir dir;
  std::filesystem::create_directories(dir / "full");
  write_file_atomically(dir / "full" / "keep", "k");
  expect_error([&] { AtomicDirectory d(dir / "full"); }, {"full", "already exists"});
  expect_error([&] { AtomicDirectory d(dir / "full" / "keep"); }, {"already exists"});
  expect_error([&] { AtomicDirectory d(dir / "missing" / "out"); }, {"parent folder", "does not exist"});
  std::filesystem::create_directories(dir / "empty");
  {
    AtomicDirectory d(dir / "empty/");
    write_file_synced(d.temp_path() / "z", "z");
    d.commit();
  }
  EXPECT_EQ(text_of(dir / "empty" / "z"), "z");
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"empty", "full"}));
}

// The torch wheel's libtorch.so exports its own (broken) std::filesystem::remove_all; januskit links
// libstdc++ first so that calls bind to the real one (cmake/LibTorch.cmake). This crashed before.
TEST(StdFilesystem, RemoveAllBindsToLibstdcxxAndKeepsLinkTargets) {
  TempDir dir;
  std::filesystem::create_directories(dir / "keep");
  write_file_atomically(dir / "keep" / "precious", "p");
  std::filesystem::create_directories(dir / "t" / "a" / "b");
  write_file_atomically(dir / "t" / "a" / "b" / "f", "f");
  std::filesystem::create_directory_symlink(dir / "keep", dir / "t" / "link");
  EXPECT_EQ(std::filesystem::remove_all(dir / "t"), 5u);
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"keep"});
  EXPECT_EQ(text_of(dir / "keep" / "precious"), "p");
  EXPECT_EQ(std::filesystem::remove_all(dir / "never-existed"), 0u);
}
