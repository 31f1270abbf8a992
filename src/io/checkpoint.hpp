// The tensors of a set of weight files by name, and strict loading of them into a model.
//
// Design: Checkpoint opens every file (safetensors or PyTorch zip, told apart by their first bytes)
// and indexes names -> (file, entry) without reading any tensor data; view() is a zero-copy view of
// the mapping. Copies of a Checkpoint share the open files. WeightLoader is what a model build uses:
// take() converts one tensor to the model's dtype and device straight from the mapping (one tensor
// in flight, never a second host copy of the model) and records what is missing, mis-shaped or
// left over; finish() reports all of it at once, so a wrong checkpoint shows every problem in one
// run rather than one per run.
#pragma once

#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace januskit::io {

struct TensorInfo {
  std::string name;
  at::ScalarType dtype;          // dtype stored in the file
  std::vector<int64_t> shape;
  std::filesystem::path file;    // the file holding it
  uint64_t nbytes;               // numel * element size
  int64_t numel() const;
};

// Every tensor of a set of weight files, by name; lazily converted on take().
class Checkpoint {
 public:
  Checkpoint();  // empty: no files, no tensors
  // .safetensors or torch zip (.bin/.pt/.pth); throws FileError naming the file for unreadable
  // files and Error for a tensor name found in two files.
  static Checkpoint open_files(const std::vector<std::filesystem::path>& files);

  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws Error naming the tensor
  std::vector<std::string> names() const;                 // sorted
  at::Tensor view(const std::string& name) const;         // zero-copy CPU view, file dtype
  uint64_t total_bytes() const;

  size_t size() const;
  const std::vector<std::filesystem::path>& files() const;
  // The one file, or the folder holding all of them: how messages name this checkpoint.
  std::string source_name() const;
  // Drops the pages behind `name` from the resident set (see MappedFile::release). For streaming
  // readers such as convert that are done with a tensor; never for tensors a model still uses in place.
  void release(const std::string& name) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

// Strict loading for one model build: collects every problem, reports them all at the end.
class WeightLoader {
 public:
  explicit WeightLoader(const Checkpoint& ckpt, at::ScalarType dtype, c10::Device device);
  // Converts to the loader's dtype/device and marks `name` used. Floating-point tensors take the
  // loader's dtype; integer, bool and float8 tensors keep theirs (float8 weights go with block scales,
  // and a silent upcast would hide that: ask for it with the explicit-dtype overload). On the CPU,
  // a tensor already in the right dtype is a zero-copy view that keeps the mapping alive.
  // A missing tensor or a shape mismatch (when expected_shape is given) is recorded and an undefined
  // tensor returned; finish() then throws listing every problem.
  at::Tensor take(const std::string& name, at::IntArrayRef expected_shape = {});
  at::Tensor take(const std::string& name, at::ScalarType dtype, at::IntArrayRef expected_shape = {});  // explicit dtype
  std::optional<at::Tensor> take_if_present(const std::string& name, at::IntArrayRef expected_shape = {});
  // The tensor as the file stores it: a zero-copy CPU view in the file's dtype, marked used, for layers
  // januskit converts itself (load-time quantization, GPTQ tensors); same bookkeeping as take().
  at::Tensor take_stored(const std::string& name, at::IntArrayRef expected_shape = {});
  // Drops the pages behind a tensor taken with take_stored() once nothing refers to its data.
  void release(const std::string& name) const { ckpt_.release(name); }
  bool contains(const std::string& name) const;
  // Declares tensors the model knowingly does not use (glob patterns with '*', e.g. "vision_model.vision_tower.attn_pool.*").
  void ignore(const std::string& pattern);
  // Throws one Error listing missing tensors (with expected shapes), shape mismatches, and unused tensors
  // that match no ignore pattern — names sorted, the list truncated after ~20 entries with a count.
  void finish() const;

  // The problems finish() would report, one line each ("missing: x [2, 3]", ...), in its order.
  std::vector<std::string> problems() const;
  at::ScalarType dtype() const { return dtype_; }
  c10::Device device() const { return device_; }

 private:
  at::Tensor load(const std::string& name, std::optional<at::ScalarType> dtype, at::IntArrayRef expected_shape);
  // Marks `name` used; false (and recorded) when its shape is not the expected one.
  bool mark_used(const std::string& name, at::IntArrayRef expected_shape);

  const Checkpoint& ckpt_;
  at::ScalarType dtype_;
  c10::Device device_;
  std::set<std::string> used_;
  std::vector<std::string> ignore_;
  std::set<std::pair<std::string, std::string>> missing_;     // name, expected shape
  std::set<std::pair<std::string, std::string>> mismatched_;  // name, description
};

// '*' matches any run of characters (dots included); everything else matches itself.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace januskit::io
