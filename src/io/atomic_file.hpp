// Atomic file and folder writes: a reader (or a crash) sees the old state or the complete new one,
// never half a file.
//
// Design: write into a temporary next to the destination (same folder, so same file system and
// rename(2) is atomic), fsync it, rename it over the destination, then fsync the folder so the
// rename itself survives a power cut. Destructors remove temporaries that were never committed, so
// an exception anywhere leaves nothing behind. SIGKILL still can: temporaries are named
// ".NAME.tmp-XXXXXX" (files) and "NAME.tmp-XXXXXX" (folders) so they are easy to recognise.
// No LibTorch here.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace januskit::io {

// Writes `bytes` to `path` atomically (temp + fsync + rename). Throws FileError naming `path`.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

class AtomicFile {
 public:
  // Creates the temporary next to `path`; the parent folder must exist.
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();  // removes the temporary unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Writes at an absolute offset (pwrite), for writers that fix a layout first and fill it in any order.
  void write_at(uint64_t offset, const void* data, size_t size);
  // Bytes written so far.
  uint64_t size() const { return written_; }
  // fsync, close, rename onto the destination, fsync the folder. Throws FileError on failure (the
  // temporary is then removed by the destructor).
  void commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// A folder built in "OUT.tmp-XXXXXX" beside OUT and renamed to OUT by commit(); removed with all its
// contents if never committed. OUT must not exist, or be an empty folder (rename replaces it).
class AtomicDirectory {
 public:
  explicit AtomicDirectory(std::filesystem::path path);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  // Where to write the contents until commit().
  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& path() const { return path_; }
  // Files written into temp_path() must be complete (and fsync'ed, see write_file_synced) first.
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Writes a whole file (not atomically: for use inside an AtomicDirectory) and fsyncs it.
void write_file_synced(const std::filesystem::path& path, std::string_view bytes);

// fsync on a folder, so that a rename or a new entry in it is durable. Throws FileError.
void sync_directory(const std::filesystem::path& dir);

}  // namespace januskit::io
