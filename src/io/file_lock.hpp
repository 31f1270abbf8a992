// Advisory locks between processes that share a folder (gallery shards on one machine or on a
// cluster file system), with flock(2).
//
// Design: the kernel drops a flock when its holder dies, even by SIGKILL, so a crashed process never
// leaves a folder locked; the lock *file* may stay behind, and remove_file() deletes it again. A file
// can be deleted while others wait for it, so acquire() checks after locking that the path still
// names the inode it locked and starts over if not; without that check two processes could each hold
// "the" lock on different inodes. On NFS, Linux emulates flock with POSIX byte-range locks, which the
// server coordinates; some cluster file systems need a mount option (Lustre: -o flock).
#pragma once

#include <filesystem>
#include <optional>

namespace januskit::io {

enum class LockMode { shared, exclusive };

class FileLock {
 public:
  // Creates `path` if needed and locks it. wait=false: nullopt at once when another process holds a
  // conflicting lock. Throws FileError when the file cannot be created or locked.
  static std::optional<FileLock> acquire(const std::filesystem::path& path, LockMode mode, bool wait);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();  // unlocks

  // Deletes the lock file while still holding the lock (exclusive holders only), so that nothing is
  // left in the folder; waiting processes notice and create a fresh one.
  void remove_file();
  const std::filesystem::path& path() const { return path_; }

 private:
  FileLock(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  void release() noexcept;

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace januskit::io
