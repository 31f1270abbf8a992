// The small GELU MLPs of Janus: the understanding aligner (SigLIP -> LLM), the generation aligner
// (VQ embedding -> LLM) and the generation head (LLM -> image-token logits), all
// Linear · (GELU · Linear)* with exact (erf) GELU.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace januskit::nn {

struct LinearWeights {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined
};

struct GeluMlp {
  std::vector<LinearWeights> layers;  // GELU between consecutive layers, none after the last

  at::Tensor forward(const at::Tensor& x) const;
};

}  // namespace januskit::nn
