// How much memory a device has free right now, for planning batch sizes (generate, gallery).
//   CPU:  /proc/meminfo's MemAvailable, capped by the cgroup's limit (containers, systemd slices)
//   CUDA: cudaMemGetInfo's free bytes plus what LibTorch's caching allocator holds but does not use
// JANUSKIT_MEMORY_LIMIT=SIZE (e.g. 6GB) caps the figure further: to leave room for other programs,
// or to exercise the planning on a machine with plenty.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace januskit {

struct FreeMemory {
  int64_t bytes = 0;   // free for new allocations
  std::string source;  // where the figure came from ("MemAvailable", "cgroup memory.max", ...)
};

// Throws Error when the figure cannot be read at all (no /proc, no CUDA runtime).
FreeMemory free_memory(const c10::Device& device);

}  // namespace januskit
