// The small GELU MLPs of Janus: the understanding aligner (SigLIP -> LLM), the generation aligner
// (VQ embedding -> LLM) and the generation head (LLM -> image-token logits), all
// Linear · (GELU · Linear)* with exact (erf) GELU.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "nn/linear.hpp"

namespace januskit::nn {

struct GeluMlp {
  std::vector<Linear> layers;  // GELU between consecutive layers, none after the last

  at::Tensor forward(const at::Tensor& x) const;
};

}  // namespace januskit::nn
