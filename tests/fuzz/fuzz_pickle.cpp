// libFuzzer target: the restricted unpickler on arbitrary bytes (a data.pkl).
// Any januskit::Error is a correct answer; a crash, a sanitizer report, another exception (for
// example std::bad_alloc from an unbounded allocation), a hang, or an accepted pickle whose tensors
// reach outside their storages is a bug.
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>

#include "core/error.hpp"
#include "io/pickle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace januskit::io;
  try {
    const StateDictPickle sd = read_state_dict_pickle(std::span<const uint8_t>(data, size), "fuzz.bin");
    std::set<std::string> names;
    for (const PickledTensor& t : sd.tensors) {
      if (t.storage >= sd.storages.size() || t.sizes.size() != t.strides.size()) __builtin_trap();
      if (t.numel() > 0 && t.extent_bytes() > sd.storages[t.storage].nbytes()) __builtin_trap();
      if (!names.insert(t.name).second) __builtin_trap();  // flattening promises unique names
    }
  } catch (const januskit::Error&) {
  }
  return 0;
}
