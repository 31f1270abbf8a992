#include "models/weight_source.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "core/rng.hpp"
#include "io/checkpoint.hpp"

namespace januskit::models {

RandomWeightSource::RandomWeightSource(at::ScalarType dtype, c10::Device device, uint64_t seed, double std)
    : options_(at::TensorOptions().dtype(dtype).device(device)), generator_(make_generator(seed, device)), std_(std) {}

at::Tensor RandomWeightSource::take(const std::string& name, at::IntArrayRef shape) {
  const bool bias = name.ends_with(".bias");
  const bool norm = name.find("norm") != std::string::npos;
  if (norm) return bias ? at::zeros(shape, options_) : at::ones(shape, options_);
  if (bias) return at::zeros(shape, options_);
  double std = std_;
  if (std <= 0) {
    int64_t fan_in = 1;
    for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
    std = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in, 1)));
  }
  return at::normal(0.0, std, shape.vec(), generator_, options_);
}

at::Tensor RecordingSource::take(const std::string& name, at::IntArrayRef shape) {
  at::Tensor t = inner_.take(name, shape);
  if (t.defined()) records_.emplace_back(name, t);
  return t;
}

void RecordingSource::release(const std::string& name) {
  std::erase_if(records_, [&](const auto& r) { return r.first == name; });
  inner_.release(name);
}

at::Tensor LoaderSource::take(const std::string& name, at::IntArrayRef shape) { return loader_.take(name, shape); }
bool LoaderSource::contains(const std::string& name) const { return loader_.contains(name); }
at::Tensor LoaderSource::take_stored(const std::string& name, at::IntArrayRef shape) {
  return loader_.take_stored(name, shape);
}
void LoaderSource::release(const std::string& name) { loader_.release(name); }
void LoaderSource::evict(const std::string& name) { loader_.release(name); }

}  // namespace januskit::models
