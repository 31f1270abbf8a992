// Small random models for the decode-loop tests: the CPU unit tests of the device loop and their GPU
// counterparts. Weights are drawn wide (std 0.2, see TESTING.md) so that greedy decisions are far
// from ties, and the same weights can be moved to another device and dtype.
#pragma once

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/rng.hpp"
#include "engine/image_generator.hpp"
#include "io/model_dir.hpp"
#include "io/safetensors.hpp"
#include "models/janus.hpp"
#include "models/llama.hpp"

namespace januskit::test {

// Logits [1, T, V] of one token sequence through a fresh cache (the reference tests' comparison).
inline at::Tensor full_sequence_logits(engine::LanguageModel& m, const std::vector<int32_t>& seq) {
  const int64_t n = static_cast<int64_t>(seq.size());
  engine::KVCache cache = m.make_cache(1, n);
  engine::ForwardBatch b = cache.plan(n);
  at::Tensor ids = at::tensor(std::vector<int64_t>(seq.begin(), seq.end())).view({1, n});
  return m.lm_logits(m.forward(m.embed_tokens(ids), b, cache));
}

// A text-to-image request: conditional and unconditional ids and the image's seed.
inline engine::ImageRequest image_request(std::vector<int32_t> cond, std::vector<int32_t> uncond, uint64_t seed) {
  engine::ImageRequest r;
  r.cond_ids = std::move(cond);
  r.uncond_ids = std::move(uncond);
  r.seed = seed;
  return r;
}

struct LlamaShape {
  bool qwen2 = false;     // q/k/v bias
  bool llama3 = false;    // llama3 RoPE frequency scaling
  int64_t head_dim = 16;
  int64_t heads = 4;
  int64_t kv_heads = 2;
  int64_t layers = 2;
  int64_t vocab = 97;
  int64_t max_positions = 256;
  bool qwen3 = false;     // no biases, RMSNorm over each head of q and k (overrides qwen2)
};

inline models::LlamaConfig llama_config(const LlamaShape& s) {
  models::LlamaConfig c;
  c.architecture = s.qwen3 ? "Qwen3ForCausalLM" : s.qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  c.vocab_size = s.vocab;
  c.hidden_size = s.heads * s.head_dim;
  c.intermediate_size = 2 * c.hidden_size + 16;
  c.num_layers = s.layers;
  c.num_heads = s.heads;
  c.num_kv_heads = s.kv_heads;
  c.head_dim = s.head_dim;
  c.max_positions = s.max_positions;
  c.qkv_bias = s.qwen2 && !s.qwen3;
  c.qk_norm = s.qwen3;
  c.rope.rotary_dim = s.head_dim;
  if (s.llama3) {
    c.rope.theta = 500000.0;
    c.rope.scaling = nn::RopeConfig::Scaling::llama3;
    c.rope.factor = 8.0;
    c.rope.original_max_positions = 64;  // small, so that the scaled band covers the test's positions
  }
  return c;
}

inline std::unique_ptr<models::LlamaModel> random_llama(const LlamaShape& s, uint64_t seed = 42) {
  return models::LlamaModel::random(llama_config(s), at::kFloat, c10::Device(c10::kCPU), seed, 0.2);
}

// The same weights on `device` in `dtype`.
inline std::unique_ptr<models::LlamaModel> llama_on(models::LlamaModel& m, c10::Device device, at::ScalarType dtype) {
  auto move = [&](const at::Tensor& t) { return t.defined() ? t.to(device, dtype) : t; };
  auto move_linear = [&](const nn::Linear& l) { return nn::Linear::dense(move(l.weight()), move(l.bias())); };
  const models::LlamaWeights& w = m.weights();
  models::LlamaWeights out;
  out.embed = move(w.embed);
  for (const auto& L : w.layers) {
    models::LlamaLayerWeights M;
    M.input_norm = move(L.input_norm);
    M.qkv = move_linear(L.qkv);
    M.o = move_linear(L.o);
    M.q_norm = move(L.q_norm);
    M.k_norm = move(L.k_norm);
    M.post_norm = move(L.post_norm);
    M.gate_up = move_linear(L.gate_up);
    M.down = move_linear(L.down);
    out.layers.push_back(std::move(M));
  }
  out.norm = move(w.norm);
  out.lm_head = m.config().tie_word_embeddings ? nn::Linear::dense(out.embed) : move_linear(w.lm_head);
  return std::make_unique<models::LlamaModel>(m.config(), std::move(out));
}

// A small Janus for image generation only: 2 Llama layers (head_dim 16, MHA as Janus-Pro), a 6 × 6
// token grid (36 steps per image) and 64 image tokens.
inline models::JanusConfig small_janus_config() {
  models::JanusConfig c;
  auto& t = c.text;
  t.architecture = "LlamaForCausalLM";
  t.vocab_size = 128;
  t.hidden_size = 64;
  t.intermediate_size = 144;
  t.num_layers = 2;
  t.num_heads = 4;
  t.num_kv_heads = 4;
  t.head_dim = 16;
  t.max_positions = 256;
  t.rope.rotary_dim = 16;
  t.tie_word_embeddings = false;
  c.vision.image_size = 96;
  c.vision.patch_size = 16;
  c.vision.width = 32;
  c.vision.layers = 1;
  c.vision.heads = 2;
  c.vision.mlp_dim = 64;
  c.vq.codebook_size = 64;
  c.vq.codebook_dim = 8;
  c.vq.latent_channels = 32;
  c.vq.base_channels = 32;
  c.vq.channel_mult = {1, 1, 2};
  c.vq.num_res_blocks = 1;
  c.vq.grid = c.vision.grid();
  c.gen_head_dim = t.hidden_size;
  return c;
}

inline std::unique_ptr<models::JanusModel> random_janus(uint64_t seed = 7) {
  auto model = models::JanusModel::random(small_janus_config(), at::kFloat, c10::Device(c10::kCPU), seed,
                                          models::JanusParts{false, true, false});
  // Widen the language model like random_llama (norms stay 1).
  at::Generator g = make_generator(seed + 100, c10::Device(c10::kCPU));
  c10::NoGradGuard no_grad;
  for (auto& L : model->llama().weights().layers) {
    for (nn::Linear* l : {&L.qkv, &L.o, &L.gate_up, &L.down}) l->weight().normal_(0.0, 0.2, g);
  }
  return model;
}

// The same Janus on another device/dtype, through a checkpoint folder written under `dir`.
inline std::unique_ptr<models::JanusModel> janus_on(models::JanusModel& m, const std::filesystem::path& dir,
                                                    c10::Device device, at::ScalarType dtype) {
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "config.json") << m.config().to_json().dump(2);
  }
  io::write_safetensors(dir / "model.safetensors", m.state_dict());
  return models::JanusModel::load(io::ModelDir::open(dir), device, dtype, m.parts());
}

}  // namespace januskit::test
