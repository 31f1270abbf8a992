#include "nn/mlp.hpp"

#include <ATen/ATen.h>

#include "nn/activations.hpp"

namespace januskit::nn {

at::Tensor GeluMlp::forward(const at::Tensor& x) const {
  at::Tensor h = x;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i > 0) h = nn::gelu(h);
    h = layers[i].forward(h);
  }
  return h;
}

}  // namespace januskit::nn
