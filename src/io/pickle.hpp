// A restricted unpickler for the data.pkl of torch.save checkpoints: it understands exactly what a
// state_dict pickle uses and refuses everything else.
//
// Design: a pickle is a program for a stack machine whose GLOBAL opcode can name any Python callable
// (os.system, builtins.eval, ...); loading one with Python's pickle runs arbitrary code. This
// interpreter executes nothing: it knows a fixed list of globals (collections.OrderedDict, torch's
// tensor/parameter rebuild functions, the typed storages and dtypes) and stops with an error naming
// any other global the moment it is referenced. Values live in arenas owned by the interpreter and
// refer to each other by index, so self-referencing or deeply nested pickles cannot leak or overflow
// the C++ stack, and every count (input size, stack, memo, nesting, traversal) is bounded.
// LibTorch-free: the result describes tensors (storage key, dtype, offset, sizes, strides); io/
// torch_zip turns those into views of the mapped archive.
//
// State-dict shape: the pickle must hold a dict. Nested dicts are flattened with '.' joins
// ({"encoder": {"w": t}} gives "encoder.w"); before that, wrappers are removed: while the top dict
// holds no tensor itself and exactly one of its values is a dict holding tensors, that dict becomes
// the top ({"state_dict": {...}, "epoch": 3} gives the inner names). Values that are neither tensors
// nor dicts (numbers, strings, lists) are skipped and reported in `skipped`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/dtype.hpp"

namespace januskit::io {

inline constexpr uint64_t kMaxPickleBytes = 256ull << 20;  // real state_dict pickles are < 1 MB per 1000 tensors
inline constexpr size_t kMaxPickleStack = 10'000'000;      // values on the stack or in the memo
inline constexpr int kMaxPickleNesting = 64;               // dict nesting when flattening
// Flattening follows shared subtrees once per path, so a few hundred bytes of memo references can
// describe 2^40 names: the work is bounded by visits and by the bytes of names built.
inline constexpr uint64_t kMaxPickleVisits = 4'000'000;
inline constexpr uint64_t kMaxPickleNameBytes = 32ull << 20;

struct PickledStorage {
  std::string key;       // the zip entry is "<archive>/data/<key>"
  DType dtype;           // U8 for torch.UntypedStorage
  uint64_t numel = 0;    // elements of `dtype`
  std::string location;  // "cpu", "cuda:0": where it was saved from; ignored
  uint64_t nbytes() const { return numel * static_cast<uint64_t>(dtype_size(dtype)); }
};

struct PickledTensor {
  std::string name;
  size_t storage = 0;  // index into StateDictPickle::storages
  DType dtype;         // the tensor's element type
  int64_t offset = 0;  // in elements of `dtype`
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  uint64_t numel() const;
  // Bytes of the storage the view reaches: (offset + the last element's index + 1) * itemsize; 0 when empty.
  uint64_t extent_bytes() const;
};

struct StateDictPickle {
  std::vector<PickledStorage> storages;
  std::vector<PickledTensor> tensors;  // in pickle order
  std::vector<std::string> skipped;    // non-tensor entries left out (names)
  std::string unwrapped;               // wrapper keys removed, joined by '.' ("" when none)
};

// Interprets a data.pkl. `path` names the checkpoint in errors. Throws FileError for anything
// outside the supported subset, with the offending global or opcode named.
StateDictPickle read_state_dict_pickle(std::span<const uint8_t> bytes, std::string_view path);

}  // namespace januskit::io
