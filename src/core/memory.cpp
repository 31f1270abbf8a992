#include "core/memory.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#ifdef JANUSKIT_HAVE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

#include "core/byte_size.hpp"
#include "core/error.hpp"

namespace januskit {

namespace {

// A number in a one-value file such as cgroup's memory.max; nullopt for "max" or an absent file.
std::optional<int64_t> read_number(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return std::nullopt;
  try {
    size_t used = 0;
    const long long v = std::stoll(word, &used);
    if (used != word.size() || v < 0) return std::nullopt;
    return static_cast<int64_t>(v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<int64_t> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("MemAvailable:")) continue;
    std::istringstream fields(line.substr(13));
    int64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return std::nullopt;
}

// What the cgroup this process runs in still allows: limit - usage (v2, then v1).
std::optional<FreeMemory> cgroup_headroom() {
  struct Files {
    const char *limit, *usage, *name;
  };
  for (const Files f : {Files{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "cgroup memory.max"},
                        Files{"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                              "/sys/fs/cgroup/memory/memory.usage_in_bytes", "cgroup memory.limit_in_bytes"}}) {
    const auto limit = read_number(f.limit), usage = read_number(f.usage);
    // v1 reports "no limit" as a huge number rather than "max".
    if (!limit || !usage || *limit >= (int64_t{1} << 60)) continue;
    return FreeMemory{std::max<int64_t>(0, *limit - *usage), f.name};
  }
  return std::nullopt;
}

FreeMemory cpu_free_memory() {
  const auto available = mem_available();
  if (!available) throw Error("cannot read MemAvailable from /proc/meminfo to plan memory; set JANUSKIT_MEMORY_LIMIT");
  FreeMemory free{*available, "MemAvailable"};
  if (const auto cgroup = cgroup_headroom(); cgroup && cgroup->bytes < free.bytes) free = *cgroup;
  return free;
}

#ifdef JANUSKIT_HAVE_CUDA
FreeMemory cuda_free_memory(const c10::Device& device) {
  const int index = device.index() < 0 ? 0 : device.index();
  int previous = 0;
  cudaGetDevice(&previous);
  cudaSetDevice(index);
  size_t free = 0, total = 0;
  const cudaError_t status = cudaMemGetInfo(&free, &total);
  cudaSetDevice(previous);
  if (status != cudaSuccess) throw Error(cat("cudaMemGetInfo on cuda:", index, ": ", cudaGetErrorString(status)));
  // Blocks LibTorch has cached but not handed out are free for our next tensors too.
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  const auto aggregate = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  const int64_t cached = stats.reserved_bytes[aggregate].current - stats.allocated_bytes[aggregate].current;
  return FreeMemory{static_cast<int64_t>(free) + std::max<int64_t>(0, cached), "cudaMemGetInfo"};
}
#endif

}  // namespace

FreeMemory free_memory(const c10::Device& device) {
  FreeMemory free;
  if (device.is_cuda()) {
#ifdef JANUSKIT_HAVE_CUDA
    free = cuda_free_memory(device);
#else
    throw Error("this januskit was built without CUDA; it cannot measure GPU memory");
#endif
  } else {
    free = cpu_free_memory();
  }
  if (const char* limit = std::getenv("JANUSKIT_MEMORY_LIMIT"); limit != nullptr && *limit != '\0') {
    const auto cap = static_cast<int64_t>(std::min<uint64_t>(parse_size(limit, "JANUSKIT_MEMORY_LIMIT"),
                                                             std::numeric_limits<int64_t>::max()));
    if (cap < free.bytes) free = FreeMemory{cap, "JANUSKIT_MEMORY_LIMIT"};
  }
  return free;
}

}  // namespace januskit
