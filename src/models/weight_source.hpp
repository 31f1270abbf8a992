// How multi-part models (Janus) receive their tensors: by a canonical name, which the source maps onto
// the checkpoint's own naming scheme. A missing tensor is recorded by the source (reported all at once
// by io::WeightLoader::finish()) and comes back undefined.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/Generator.h>

#include <string>
#include <utility>
#include <vector>

namespace januskit::io {
class WeightLoader;
}

namespace januskit::models {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual at::Tensor take(const std::string& name, at::IntArrayRef shape) = 0;
  virtual bool contains(const std::string& name) const = 0;
  // The tensor as stored (a CPU view in the file's dtype where the source is a file), for layers the
  // model converts itself: quantized at load, or GPTQ tensors. Sources without files give take().
  virtual at::Tensor take_stored(const std::string& name, at::IntArrayRef shape) { return take(name, shape); }
  // The caller has converted what take_stored() gave and keeps no reference to it.
  virtual void release(const std::string& /*name*/) {}
  // The caller has copied what take() gave (fused it with other parts): the file pages behind it may
  // be dropped from memory. References to it stay valid (they read the file again), so it stays
  // recorded; nothing may have written to it.
  virtual void evict(const std::string& /*name*/) {}
};

// A model's checkpoint names through the strict loader, unchanged.
class LoaderSource final : public WeightSource {
 public:
  explicit LoaderSource(io::WeightLoader& loader) : loader_(loader) {}
  at::Tensor take(const std::string& name, at::IntArrayRef shape) override;
  bool contains(const std::string& name) const override;
  at::Tensor take_stored(const std::string& name, at::IntArrayRef shape) override;
  void release(const std::string& name) override;
  void evict(const std::string& name) override;

 private:
  io::WeightLoader& loader_;
};

// Seeded random weights for models built from scratch (tests, benchmarks, training): matrices and
// convolutions ~ N(0, std) (std 0: 1/sqrt(fan_in)), norm weights 1, biases and norm biases 0.
class RandomWeightSource final : public WeightSource {
 public:
  RandomWeightSource(at::ScalarType dtype, c10::Device device, uint64_t seed, double std = 0.0);
  at::Tensor take(const std::string& name, at::IntArrayRef shape) override;
  bool contains(const std::string&) const override { return true; }

 private:
  at::TensorOptions options_;
  at::Generator generator_;
  double std_;
};

// Passes takes through to another source and remembers what it handed out, by canonical name: the
// tensors alias the model's weights, so the list doubles as the model's parameters and state dict.
class RecordingSource final : public WeightSource {
 public:
  explicit RecordingSource(WeightSource& inner) : inner_(inner) {}
  at::Tensor take(const std::string& name, at::IntArrayRef shape) override;
  bool contains(const std::string& name) const override { return inner_.contains(name); }
  at::Tensor take_stored(const std::string& name, at::IntArrayRef shape) override { return inner_.take_stored(name, shape); }
  // Also forgets `name`: a layer that was quantized no longer holds the dense tensor.
  void release(const std::string& name) override;
  void evict(const std::string& name) override { inner_.evict(name); }
  std::vector<std::pair<std::string, at::Tensor>>& records() { return records_; }

 private:
  WeightSource& inner_;
  std::vector<std::pair<std::string, at::Tensor>> records_;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

}  // namespace januskit::models
