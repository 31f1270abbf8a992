// Janus-Pro: one Llama language model with two vision paths.
//   understanding: image -> SigLIP -> aligner MLP -> embeddings that replace the <image_placeholder>
//                  tokens of the prompt -> Llama -> lm_head -> text
//   generation:    prompt -> Llama -> gen_head -> image token (CFG) -> gen_embed + gen_aligner -> back into
//                  the Llama ... 576 times -> VQ decoder -> pixels
// Both checkpoint layouts load: the original deepseek-ai MultiModalityCausalLM (pytorch_model*.bin) and
// transformers' JanusForConditionalGeneration (safetensors). The model is built from canonical
// (transformers) names; one table in janus.cpp maps them onto the original names.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>

#include "engine/image_generator.hpp"
#include "engine/language_model.hpp"
#include "models/llama.hpp"
#include "models/siglip.hpp"
#include "models/vq.hpp"
#include "nn/mlp.hpp"

namespace januskit::io {
struct ModelDir;
}

namespace januskit::models {

enum class JanusNaming { original, transformers };

struct JanusConfig {
  LlamaConfig text;
  SiglipConfig vision;
  int64_t aligner_depth = 2;      // understanding aligner: vision width -> D
  VqConfig vq;
  int64_t gen_aligner_depth = 2;  // generation aligner: codebook dim -> D
  int64_t gen_head_dim = 0;       // gen_head hidden size (D)
  JanusNaming naming = JanusNaming::transformers;

  int64_t tokens_per_image() const { return vq.tokens_per_image(); }
  static JanusConfig from_json(const nlohmann::json& json, const std::string& source);
  // transformers' JanusForConditionalGeneration config (what the demo model ships).
  nlohmann::json to_json() const;
};

// Which parts to build: generation does not need SigLIP or lm_head; understanding needs neither the
// generation head nor the VQ model. The VQ encoder is only for image -> tokens.
struct JanusParts {
  bool understanding = true;
  bool generation = true;
  bool vq_encoder = false;
};

// The checkpoint name of a canonical (transformers) tensor name under a naming scheme.
std::string janus_checkpoint_name(const std::string& canonical, JanusNaming naming);

class JanusModel final : public engine::LanguageModel, public engine::ImageTokenModel {
 public:
  JanusModel(JanusConfig config, std::unique_ptr<LlamaModel> language, SiglipEncoder vision, nn::GeluMlp aligner,
             at::Tensor gen_embed, nn::GeluMlp gen_aligner, nn::GeluMlp gen_head, VqModel vq, JanusParts parts);

  // quant: --quant against the folder's own quantization_config (models/linear_loading.hpp).
  static std::unique_ptr<JanusModel> load(const io::ModelDir& dir, c10::Device device, at::ScalarType dtype,
                                          JanusParts parts = {}, const QuantChoice& quant = {});
  // Random weights (tests, benchmarks) for the requested parts, drawn on `device`; the language model,
  // aligners and generation head quantized as drawn when `quantize` asks.
  static std::unique_ptr<JanusModel> random(const JanusConfig& config, at::ScalarType dtype, c10::Device device,
                                            uint64_t seed, JanusParts parts = {true, true, true},
                                            const nn::QuantizeRequest& quantize = {});
  // The checkpoint names of the weights load() builds linear layers from, for the folder's naming.
  static std::vector<std::string> linear_weight_names(const JanusConfig& config);

  // engine::LanguageModel (the Llama inside)
  engine::CacheShape cache_shape() const override { return language_->cache_shape(); }
  int64_t hidden_size() const override { return language_->hidden_size(); }
  int64_t vocab_size() const override { return language_->vocab_size(); }
  int64_t max_positions() const override { return language_->max_positions(); }
  at::ScalarType dtype() const override { return language_->dtype(); }
  c10::Device device() const override { return language_->device(); }
  std::string describe_weights() const override { return language_->describe_weights(); }
  // The language model plus every part that was built.
  int64_t weight_bytes() const override;
  // Bytes the generation head and aligner read per image-token step (bench).
  int64_t generation_head_bytes() const;
  at::Tensor embed_tokens(const at::Tensor& ids) override { return language_->embed_tokens(ids); }
  at::Tensor forward(const at::Tensor& embeds, const engine::ForwardBatch& batch, engine::KVCache& cache) override {
    return language_->forward(embeds, batch, cache);
  }
  at::Tensor lm_logits(const at::Tensor& hidden) override;
  bool has_decode_step() const override { return language_->has_decode_step(); }
  at::Tensor decode_step(const at::Tensor& embeds, const engine::DecodeInputs& inputs, engine::KVCache& cache) override {
    return language_->decode_step(embeds, inputs, cache);
  }

  // engine::ImageTokenModel
  engine::LanguageModel& language_model() override { return *this; }
  at::Tensor embed_image_tokens(const at::Tensor& ids) override;
  at::Tensor image_logits(const at::Tensor& hidden) override;
  int64_t tokens_per_image() const override { return config_.tokens_per_image(); }
  int64_t image_vocab_size() const override { return config_.vq.codebook_size; }

  // Understanding: pixels [B, 3, S, S] in [-1, 1] -> aligned image embeddings [B, N, D].
  at::Tensor encode_images(const at::Tensor& pixels);
  // Token embeddings with the rows of `image_token_id` replaced, in order, by `image_embeds` [n, N, D].
  at::Tensor embed_with_images(const at::Tensor& ids, const at::Tensor& image_embeds, int64_t image_token_id);
  // Generation: image token ids [B, N] -> images [B, 3, S, S].
  at::Tensor decode_images(const at::Tensor& ids);

  const JanusConfig& config() const { return config_; }
  const JanusParts& parts() const { return parts_; }
  // Trainable tensors of every part that was built (the Llama's fused matrices as held).
  std::vector<at::Tensor> parameters() const;
  // The understanding path's trainable tensors alone: the vision encoder and its aligner, as held
  // (SigLIP's fused q/k/v, unlike the split views state_dict() gives, which no gradient reaches).
  std::vector<at::Tensor> understanding_parameters() const;
  // Every tensor under its transformers (JanusForConditionalGeneration) name, for saving a checkpoint.
  NamedTensors state_dict() const;
  LlamaModel& llama() { return *language_; }
  VqModel& vq() { return vq_; }

 private:
  void require(bool part, const char* what) const;

  JanusConfig config_;
  std::unique_ptr<LlamaModel> language_;
  SiglipEncoder vision_;
  nn::GeluMlp aligner_;
  at::Tensor gen_embed_;  // [K, codebook_dim]
  nn::GeluMlp gen_aligner_;
  nn::GeluMlp gen_head_;
  VqModel vq_;
  JanusParts parts_;
  NamedTensors named_;  // the non-Llama tensors under canonical names, as built
};

}  // namespace januskit::models
