#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "core/error.hpp"

namespace januskit::io {
namespace {

std::string errno_text() { return std::strerror(errno); }

// A folder path for syscalls: "" (a bare file name) means the current folder.
std::filesystem::path parent_of(const std::filesystem::path& path) {
  std::filesystem::path parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// offset < 0: at the current position (write), else at that offset (pwrite).
void write_all(int fd, const void* data, size_t size, const std::filesystem::path& shown, int64_t offset = -1) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    // Chunks of at most 1 GiB: Linux writes at most ~2 GiB per call anyway.
    const size_t chunk = std::min<size_t>(size, size_t{1} << 30);
    ssize_t n = offset < 0 ? ::write(fd, p, chunk) : ::pwrite(fd, p, chunk, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileError(shown.string(), cat("cannot write: ", errno_text()));
    }
    p += n;
    size -= static_cast<size_t>(n);
    if (offset >= 0) offset += n;
  }
}

}  // namespace

void sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw FileError(dir.string(), cat("cannot open folder to sync it: ", errno_text()));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw FileError(dir.string(), cat("cannot sync folder: ", std::strerror(err)));
}

void write_file_synced(const std::filesystem::path& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw FileError(path.string(), cat("cannot create: ", errno_text()));
  try {
    write_all(fd, bytes.data(), bytes.size(), path);
    if (::fsync(fd) != 0) throw FileError(path.string(), cat("cannot sync: ", errno_text()));
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw FileError(path.string(), cat("cannot close: ", errno_text()));
}

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  // Built by appending: GCC 12 warns falsely (-Wstringop-overflow) on "." + string.
  std::string name(1, '.');
  name.append(path_.filename().string()).append(".tmp-XXXXXX");
  std::string pattern = (parent_of(path_) / name).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  fd_ = ::mkstemp(buf.data());
  if (fd_ < 0) throw FileError(path_.string(), cat("cannot create a temporary file beside it: ", errno_text()));
  temp_ = std::filesystem::path(buf.data());
  // mkstemp makes 0600 files; outputs are ordinary files that others may read.
  ::fchmod(fd_, 0644);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw FileError(path_.string(), "write after commit");
  write_all(fd_, data, size, path_);
  written_ += size;
}

void AtomicFile::write_at(uint64_t offset, const void* data, size_t size) {
  if (fd_ < 0) throw FileError(path_.string(), "write after commit");
  write_all(fd_, data, size, path_, static_cast<int64_t>(offset));
  written_ += size;
}

void AtomicFile::commit() {
  if (fd_ < 0) throw FileError(path_.string(), "committed twice");
  if (::fsync(fd_) != 0) throw FileError(path_.string(), cat("cannot sync: ", errno_text()));
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw FileError(path_.string(), cat("cannot close: ", errno_text()));
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    throw FileError(path_.string(), cat("cannot rename the temporary file into place: ", errno_text()));
  }
  committed_ = true;
  sync_directory(parent_of(path_));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

AtomicDirectory::AtomicDirectory(std::filesystem::path path) : path_(std::move(path)) {
  // Trailing slashes would make the temporary a child of OUT instead of a sibling.
  if (!path_.has_filename()) path_ = path_.parent_path();
  std::error_code ec;
  if (std::filesystem::exists(path_, ec) &&
      !(std::filesystem::is_directory(path_, ec) && std::filesystem::is_empty(path_, ec))) {
    throw FileError(path_.string(), "already exists; choose a new output folder or remove this one");
  }
  const std::filesystem::path parent = parent_of(path_);
  if (!std::filesystem::is_directory(parent, ec)) {
    throw FileError(path_.string(), cat("its parent folder ", parent.string(), " does not exist"));
  }
  std::string pattern = (parent / (path_.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw FileError(path_.string(), cat("cannot create a temporary folder beside it: ", errno_text()));
  }
  temp_ = std::filesystem::path(buf.data());
  ::chmod(temp_.c_str(), 0755);
}

AtomicDirectory::~AtomicDirectory() {
  if (committed_ || temp_.empty()) return;
  std::error_code ec;  // a destructor must not throw; a leftover is visible by its name
  std::filesystem::remove_all(temp_, ec);
}

void AtomicDirectory::commit() {
  if (committed_) throw FileError(path_.string(), "committed twice");
  sync_directory(temp_);
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    // ENOTEMPTY/EEXIST: someone created OUT while we were writing.
    throw FileError(path_.string(), cat("cannot rename the finished folder into place: ", errno_text()));
  }
  committed_ = true;
  sync_directory(parent_of(path_));
}

}  // namespace januskit::io
