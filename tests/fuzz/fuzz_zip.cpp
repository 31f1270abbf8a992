// libFuzzer target: a torch zip checkpoint without LibTorch: the central directory (zip64
// included), every entry's bytes, and the unpickler on "<folder>/data.pkl" when there is one.
// Any januskit::Error is a correct answer; a crash, a sanitizer report or another exception is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.hpp"
#include "io/pickle.hpp"
#include "io/zip_directory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace januskit::io;
  const std::span<const uint8_t> file(data, size);
  try {
    const std::vector<ZipEntry> entries = read_zip_directory(file, "fuzz.pt");
    for (const ZipEntry& e : entries) {
      try {
        const std::span<const uint8_t> bytes = zip_entry_bytes(file, e, "fuzz.pt");
        if (bytes.data() < data || bytes.data() + bytes.size() > data + size) __builtin_trap();
        if (e.name.ends_with("/data.pkl")) read_state_dict_pickle(bytes, "fuzz.pt");
      } catch (const januskit::Error&) {
      }
    }
  } catch (const januskit::Error&) {
  }
  return 0;
}
