// The Llama-family decoder: Llama 2/3 (GQA, llama3 RoPE frequency scaling), Qwen2 (q/k/v bias),
// Qwen3 (no biases, an RMSNorm over every head of q and k before RoPE, head_dim set apart from
// hidden_size / heads), and the language model inside Janus-Pro (a plain Llama). Tied or untied head.
//
// Layer: x += o(attn(rope(q), rope(k), v)) over rms_norm(x); x += down(silu(gate) * up) over rms_norm(x).
// Weights are held fused where that saves work: q/k/v as one [(H + 2·KVH)·d, D] matrix and gate/up as
// one [2·I, D] matrix (one GEMM each instead of three/two); state_dict() splits them back into the
// Hugging Face names.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

#include "engine/language_model.hpp"
#include "models/linear_loading.hpp"
#include "nn/linear.hpp"
#include "nn/rope.hpp"

namespace januskit::io {
class WeightLoader;
}

namespace januskit::models {

struct LlamaConfig {
  std::string architecture = "LlamaForCausalLM";
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_layers = 32;
  int64_t num_heads = 32;
  int64_t num_kv_heads = 32;
  int64_t head_dim = 128;
  int64_t max_positions = 2048;
  double rms_norm_eps = 1e-6;
  nn::RopeConfig rope;
  bool qkv_bias = false;  // Qwen2: always; Llama: attention_bias
  bool o_bias = false;    // Llama attention_bias only
  bool mlp_bias = false;
  bool qk_norm = false;   // Qwen3: q_norm/k_norm, RMSNorm over each head's d dims before RoPE
  bool tie_word_embeddings = false;

  // From a transformers config.json object (LlamaConfig/Qwen2Config/Qwen3Config defaults for absent keys, both the
  // rope_theta/rope_scaling and the newer rope_parameters spellings). `source` names the file in errors.
  static LlamaConfig from_json(const nlohmann::json& json, const std::string& source);
  nlohmann::json to_json() const;
  int64_t parameter_count() const;
};

// Where the decoder's tensors live in a checkpoint.
struct LlamaNames {
  std::string prefix = "model.";            // embed_tokens, layers.N..., norm
  std::string lm_head = "lm_head.weight";  // empty: do not load the head (Janus image generation)
};

struct LlamaLayerWeights {
  at::Tensor input_norm;  // [D]
  nn::Linear qkv;         // [(H + 2·KVH)·d, D] q, k, v projections stacked (with Qwen2's biases)
  nn::Linear o;           // [D, H·d]
  at::Tensor q_norm;      // [d] (Qwen3; undefined otherwise)
  at::Tensor k_norm;      // [d]
  at::Tensor post_norm;   // [D]
  nn::Linear gate_up;     // [2·I, D] gate then up
  nn::Linear down;        // [D, I]
};

struct LlamaWeights {
  at::Tensor embed;  // [V, D]
  std::vector<LlamaLayerWeights> layers;
  at::Tensor norm;     // [D]
  nn::Linear lm_head;  // [V, D]; dense over the same tensor as embed when tied
};

class LlamaModel final : public engine::LanguageModel {
 public:
  LlamaModel(LlamaConfig config, LlamaWeights weights);

  // Takes every tensor through the loader (strictness is the caller's: it calls loader.finish()); the
  // projections and an untied head as the policy says (dense, quantized at load, or GPTQ as stored).
  static std::unique_ptr<LlamaModel> load(const LlamaConfig& config, io::WeightLoader& loader,
                                          const LlamaNames& names = {}, const LinearPolicy& policy = {});
  // Random weights of the given shape (benchmarks, tests, training from scratch); std is the spread of
  // the projection matrices, norms start at 1. With a quantize request each projection is quantized as
  // soon as it is drawn, so peak memory stays about one dense matrix above the quantized model.
  static std::unique_ptr<LlamaModel> random(const LlamaConfig& config, at::ScalarType dtype, c10::Device device,
                                            uint64_t seed, double std = 0.02, const nn::QuantizeRequest& quantize = {});
  // The checkpoint names of the weights load() builds linear layers from (what `convert --quant` quantizes).
  static std::vector<std::string> linear_weight_names(const LlamaConfig& config, const LlamaNames& names = {});

  engine::CacheShape cache_shape() const override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_positions() const override { return config_.max_positions; }
  at::ScalarType dtype() const override { return weights_.embed.scalar_type(); }
  c10::Device device() const override { return weights_.embed.device(); }
  std::string describe_weights() const override;
  int64_t weight_bytes() const override;

  at::Tensor embed_tokens(const at::Tensor& ids) override;
  at::Tensor forward(const at::Tensor& embeds, const engine::ForwardBatch& batch, engine::KVCache& cache) override;
  at::Tensor lm_logits(const at::Tensor& hidden) override;
  bool has_decode_step() const override { return true; }
  // One token per row through the fused decode blocks of src/nn (add+RMSNorm, RoPE with the cache
  // write, split-K decode attention, SiLU·mul; cuBLAS GEMMs): graph-capturable on CUDA.
  at::Tensor decode_step(const at::Tensor& embeds, const engine::DecodeInputs& inputs, engine::KVCache& cache) override;

  const LlamaConfig& config() const { return config_; }
  LlamaWeights& weights() { return weights_; }
  const LlamaWeights& weights() const { return weights_; }
  // The trainable tensors (fused matrices as held; the head only when untied). Dense models only:
  // a quantized one throws Error.
  std::vector<at::Tensor> parameters() const;
  // Tensors under their Hugging Face names (fused matrices split), for saving a checkpoint (dense only).
  std::vector<std::pair<std::string, at::Tensor>> state_dict(const LlamaNames& names = {}) const;

 private:
  at::Tensor layer_forward(int64_t index, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                           const engine::ForwardBatch& batch, engine::KVCache& cache);

  LlamaConfig config_;
  LlamaWeights weights_;
  nn::RotaryEmbedding rope_;
};

}  // namespace januskit::models
