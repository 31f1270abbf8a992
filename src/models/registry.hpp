// config.json -> the right model class. One place lists what januskit supports, so an unsupported
// folder gets an error that names the supported architectures.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/language_model.hpp"
#include "models/linear_loading.hpp"

namespace januskit::io {
struct ModelDir;
}

namespace januskit::models {

enum class ModelKind { text_decoder, janus };

struct ArchitectureInfo {
  ModelKind kind;
  std::string architecture;  // as config.json spells it
};

// Architectures januskit can load, with what they are ("LlamaForCausalLM (Llama, R1-Distill-Llama)", ...).
const std::vector<std::string>& supported_architectures();
// Reads architectures/model_type of the folder's config.json; throws naming the supported ones.
ArchitectureInfo detect_architecture(const io::ModelDir& dir);

// A text decoder (Llama/Qwen2 family) from a model folder, weights on `device` in `dtype`, linear layers
// as `quant` and the folder's quantization_config decide; strict: every tensor of the checkpoint must be used.
std::unique_ptr<engine::LanguageModel> load_text_decoder(const io::ModelDir& dir, c10::Device device,
                                                         at::ScalarType dtype, const QuantChoice& quant = {});
// The checkpoint names of the weights `dir`'s model runs as linear layers (what `convert --quant` quantizes).
std::vector<std::string> linear_weight_names(const io::ModelDir& dir);

}  // namespace januskit::models
