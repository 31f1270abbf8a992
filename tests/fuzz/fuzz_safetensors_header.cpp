// libFuzzer target: the safetensors header parser on arbitrary bytes (a whole file).
// Any januskit::Error is a correct answer; a crash, a sanitizer report, another exception, or an
// accepted header that breaks the invariants below is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.hpp"
#include "io/safetensors_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace januskit::io;
  const std::span<const uint8_t> file(data, size);
  try {
    const SafetensorsHeader h = parse_safetensors_header(file, "fuzz.safetensors");
    // Accepted: the tensors tile the data area, which lies inside the file.
    if (h.data_offset + h.data_size != size) __builtin_trap();
    uint64_t covered = 0;
    for (const SafetensorsEntry& e : h.tensors) {
      if (e.begin != covered || e.end < e.begin || e.end > h.data_size) __builtin_trap();
      uint64_t n = static_cast<uint64_t>(dtype_size(e.dtype));
      for (int64_t d : e.shape) n *= static_cast<uint64_t>(d);
      if (n != e.end - e.begin) __builtin_trap();
      covered = e.end;
    }
    if (covered != h.data_size) __builtin_trap();
  } catch (const januskit::Error&) {
  }
  return 0;
}
