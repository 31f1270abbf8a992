#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace januskit::io {
namespace {

// Closes a descriptor on every path out of open(); the mapping does not need it once made.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  FdCloser fd{::open(name.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) {
    throw FileError(name, cat("cannot open: ", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw FileError(name, cat("cannot stat: ", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw FileError(name, "is a folder, expected a file");
  if (!S_ISREG(st.st_mode)) throw FileError(name, "is not a regular file");

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<uint64_t>(st.st_size);
  if (file->size_ == 0) return file;  // mmap refuses length 0; an empty span is the right answer

  // Writable private pages first (copy-on-write, never reaching the file); MAP_NORESERVE keeps a
  // 10 GB mapping from being charged against the commit limit. Where that is refused (strict
  // overcommit), fall back to a read-only mapping.
  void* p = ::mmap(nullptr, file->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd.fd, 0);
  if (p == MAP_FAILED) p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd.fd, 0);
  if (p == MAP_FAILED) throw FileError(name, cat("cannot map into memory: ", std::strerror(errno)));
  file->data_ = static_cast<uint8_t*>(p);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

void MappedFile::release(uint64_t offset, uint64_t length) const {
  if (data_ == nullptr || offset >= size_) return;
  length = std::min(length, size_ - offset);
  // Only whole pages inside the range: a partial page may hold bytes of a neighbour still in use
  // (harmless to drop, but there is no gain either).
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = (offset + page - 1) / page * page;
  const uint64_t end = (offset + length) / page * page;
  if (end <= begin) return;
  // MADV_DONTNEED on a private file mapping drops our copy of clean pages; pages a model wrote to
  // are private copies and would be lost, which is why only convert (which never writes) calls this.
  ::madvise(data_ + begin, end - begin, MADV_DONTNEED);
}

}  // namespace januskit::io
