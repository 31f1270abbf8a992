#include "io/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace januskit::io {
namespace {

// The path still names the open file: same device and inode.
bool same_file(int fd, const std::filesystem::path& path) {
  struct stat held {}, named {};
  if (::fstat(fd, &held) != 0 || ::stat(path.c_str(), &named) != 0) return false;
  return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

}  // namespace

std::optional<FileLock> FileLock::acquire(const std::filesystem::path& path, LockMode mode, bool wait) {
  const int operation = (mode == LockMode::exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  for (;;) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw FileError(path.string(), cat("cannot create lock file: ", std::strerror(errno)));
    int rc;
    do {
      rc = ::flock(fd, operation);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return std::nullopt;
      throw FileError(path.string(), cat("cannot lock: ", std::strerror(err),
                                         " (the file system may not support flock; on Lustre mount with -o flock)"));
    }
    if (same_file(fd, path)) return FileLock(path, fd);
    // The holder before us deleted the file: lock the one that is there now.
    ::close(fd);
  }
}

FileLock::FileLock(FileLock&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) { other.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() noexcept {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor drops the flock
  fd_ = -1;
}

void FileLock::remove_file() {
  if (fd_ >= 0 && same_file(fd_, path_)) ::unlink(path_.c_str());
}

}  // namespace januskit::io
