#include "models/llama.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <tuple>
#include <vector>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/rng.hpp"
#include "io/checkpoint.hpp"
#include "nn/activations.hpp"
#include "nn/attention.hpp"
#include "nn/rms_norm.hpp"
#include "nn/rope.hpp"

namespace januskit::models {
namespace {

nn::RopeConfig parse_rope(const nlohmann::json& j, int64_t head_dim, const std::string& source) {
  nn::RopeConfig rope;
  rope.rotary_dim = head_dim;
  // transformers >= 5 writes "rope_parameters" {rope_type, rope_theta, ...}; older files (all released
  // R1 distills) write "rope_theta" and "rope_scaling" {rope_type|type, factor, ...}.
  nlohmann::json params = nlohmann::json::object();
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    params = j["rope_parameters"];
  } else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
    params = j["rope_scaling"];
  }
  rope.theta = json_field<double>(params, "rope_theta", json_field<double>(j, "rope_theta", 10000.0, source), source);
  std::string type = json_field<std::string>(params, "rope_type", json_field<std::string>(params, "type", "default", source), source);
  if (type == "default") {
    rope.scaling = nn::RopeConfig::Scaling::none;
  } else if (type == "linear") {
    rope.scaling = nn::RopeConfig::Scaling::linear;
    rope.factor = json_field<double>(params, "factor", 1.0, source);
  } else if (type == "llama3") {
    rope.scaling = nn::RopeConfig::Scaling::llama3;
    rope.factor = json_field<double>(params, "factor", 8.0, source);
    rope.low_freq_factor = json_field<double>(params, "low_freq_factor", 1.0, source);
    rope.high_freq_factor = json_field<double>(params, "high_freq_factor", 4.0, source);
    rope.original_max_positions = json_field<int64_t>(params, "original_max_position_embeddings", 8192, source);
  } else {
    throw FileError(source, cat("rope scaling type '", type, "' is not supported (supported: default, linear, llama3)"));
  }
  return rope;
}

void require_positive(int64_t v, const char* key, const std::string& source) {
  if (v <= 0) throw FileError(source, cat(key, ": must be positive, got ", v));
}

// The dense tensor of a layer, for training and saving; quantized models have none.
const at::Tensor& dense(const nn::Linear& layer) {
  if (layer.is_quantized()) {
    throw Error("this model's weights are quantized: training and saving need the dense weights (load with --quant none)");
  }
  return layer.weight();
}

std::string without_weight_suffix(const std::string& name) {
  return name.ends_with(".weight") ? name.substr(0, name.size() - 7) : name;
}

}  // namespace

LlamaConfig LlamaConfig::from_json(const nlohmann::json& j, const std::string& source) {
  LlamaConfig c;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string()) {
    c.architecture = j["architectures"][0].get<std::string>();
  }
  const std::string model_type = json_field<std::string>(j, "model_type", "llama", source);
  const bool qwen3 = model_type == "qwen3" || c.architecture == "Qwen3ForCausalLM";
  const bool qwen2 = !qwen3 && (model_type == "qwen2" || c.architecture == "Qwen2ForCausalLM");
  const bool qwen = qwen2 || qwen3;
  c.vocab_size = json_field<int64_t>(j, "vocab_size", qwen ? 151936 : 32000, source);
  c.hidden_size = json_field<int64_t>(j, "hidden_size", 4096, source);
  c.intermediate_size = json_field<int64_t>(j, "intermediate_size", qwen ? 22016 : 11008, source);
  c.num_layers = json_field<int64_t>(j, "num_hidden_layers", 32, source);
  c.num_heads = json_field<int64_t>(j, "num_attention_heads", 32, source);
  c.num_kv_heads = json_field<int64_t>(j, "num_key_value_heads", c.num_heads, source);
  for (auto [v, key] : {std::pair{c.vocab_size, "vocab_size"}, {c.hidden_size, "hidden_size"},
                        {c.intermediate_size, "intermediate_size"}, {c.num_layers, "num_hidden_layers"},
                        {c.num_heads, "num_attention_heads"}, {c.num_kv_heads, "num_key_value_heads"}}) {
    require_positive(v, key, source);
  }
  // Qwen3Config's head_dim defaults to 128 whatever hidden_size / heads is.
  c.head_dim = json_field<int64_t>(j, "head_dim", qwen3 ? 128 : c.hidden_size / c.num_heads, source);
  require_positive(c.head_dim, "head_dim", source);
  if (c.num_heads % c.num_kv_heads != 0) {
    throw FileError(source, cat("num_attention_heads (", c.num_heads, ") must be a multiple of num_key_value_heads (",
                                c.num_kv_heads, ")"));
  }
  c.max_positions = json_field<int64_t>(j, "max_position_embeddings", qwen ? 32768 : 2048, source);
  c.rms_norm_eps = json_field<double>(j, "rms_norm_eps", 1e-6, source);
  c.rope = parse_rope(j, c.head_dim, source);
  if (qwen && json_field<bool>(j, "use_sliding_window", false, source)) {
    throw FileError(source, "use_sliding_window: sliding-window attention is not supported");
  }
  if (qwen2) {
    c.qkv_bias = true;
  } else if (qwen3) {
    c.qkv_bias = c.o_bias = json_field<bool>(j, "attention_bias", false, source);
    c.qk_norm = true;
  } else {
    c.qkv_bias = c.o_bias = json_field<bool>(j, "attention_bias", false, source);
    c.mlp_bias = json_field<bool>(j, "mlp_bias", false, source);
  }
  c.tie_word_embeddings = json_field<bool>(j, "tie_word_embeddings", false, source);
  std::string act = json_field<std::string>(j, "hidden_act", "silu", source);
  if (act != "silu") throw FileError(source, cat("hidden_act '", act, "' is not supported (only silu)"));
  return c;
}

nlohmann::json LlamaConfig::to_json() const {
  const bool qwen2 = architecture == "Qwen2ForCausalLM", qwen3 = architecture == "Qwen3ForCausalLM";
  nlohmann::json j = {
      {"architectures", {architecture}},
      {"model_type", qwen2 ? "qwen2" : qwen3 ? "qwen3" : "llama"},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_layers},
      {"num_attention_heads", num_heads},
      {"num_key_value_heads", num_kv_heads},
      {"head_dim", head_dim},
      {"max_position_embeddings", max_positions},
      {"rms_norm_eps", rms_norm_eps},
      {"rope_theta", rope.theta},
      {"hidden_act", "silu"},
      {"tie_word_embeddings", tie_word_embeddings},
  };
  if (!qwen2) j["attention_bias"] = qkv_bias;
  if (!qwen2 && !qwen3) j["mlp_bias"] = mlp_bias;
  switch (rope.scaling) {
    case nn::RopeConfig::Scaling::none: j["rope_scaling"] = nullptr; break;
    case nn::RopeConfig::Scaling::linear: j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope.factor}}; break;
    case nn::RopeConfig::Scaling::llama3:
      j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", rope.factor}, {"low_freq_factor", rope.low_freq_factor},
                           {"high_freq_factor", rope.high_freq_factor},
                           {"original_max_position_embeddings", rope.original_max_positions}};
      break;
  }
  return j;
}

int64_t LlamaConfig::parameter_count() const {
  const int64_t d = hidden_size, qkv = (num_heads + 2 * num_kv_heads) * head_dim;
  int64_t layer = 2 * d + qkv * d + num_heads * head_dim * d + 3 * intermediate_size * d;
  if (qkv_bias) layer += qkv;
  if (o_bias) layer += d;
  if (mlp_bias) layer += 2 * intermediate_size + d;
  if (qk_norm) layer += 2 * head_dim;
  return vocab_size * d * (tie_word_embeddings ? 1 : 2) + num_layers * layer + d;
}

LlamaModel::LlamaModel(LlamaConfig config, LlamaWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)), rope_(config_.rope, weights_.embed.device()) {}

std::unique_ptr<LlamaModel> LlamaModel::load(const LlamaConfig& c, io::WeightLoader& w, const LlamaNames& n,
                                             const LinearPolicy& policy) {
  const int64_t d = c.hidden_size, hd = c.head_dim, q_rows = c.num_heads * hd, kv_rows = c.num_kv_heads * hd;
  const int64_t inter = c.intermediate_size;
  LoaderSource source(w);
  LlamaWeights weights;
  weights.embed = w.take(n.prefix + "embed_tokens.weight", {c.vocab_size, d});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = cat(n.prefix, "layers.", i, ".");
    LlamaLayerWeights L;
    L.input_norm = w.take(p + "input_layernorm.weight", {d});
    L.qkv = load_linear(source, {{p + "self_attn.q_proj", q_rows}, {p + "self_attn.k_proj", kv_rows}, {p + "self_attn.v_proj", kv_rows}},
                        d, c.qkv_bias, policy);
    L.o = load_linear(source, {{p + "self_attn.o_proj", d}}, q_rows, c.o_bias, policy);
    if (c.qk_norm) {
      L.q_norm = w.take(p + "self_attn.q_norm.weight", {hd});
      L.k_norm = w.take(p + "self_attn.k_norm.weight", {hd});
    }
    L.post_norm = w.take(p + "post_attention_layernorm.weight", {d});
    L.gate_up = load_linear(source, {{p + "mlp.gate_proj", inter}, {p + "mlp.up_proj", inter}}, d, c.mlp_bias, policy);
    L.down = load_linear(source, {{p + "mlp.down_proj", d}}, inter, c.mlp_bias, policy);
    weights.layers.push_back(std::move(L));
  }
  weights.norm = w.take(n.prefix + "norm.weight", {d});
  if (c.tie_word_embeddings) {
    // Some tied checkpoints still store a copy of the head; it is the embedding by definition.
    if (!n.lm_head.empty()) w.take_if_present(n.lm_head, {c.vocab_size, d});
    if (weights.embed.defined()) weights.lm_head = nn::Linear::dense(weights.embed);
  } else if (!n.lm_head.empty()) {
    weights.lm_head = load_linear(source, {{without_weight_suffix(n.lm_head), c.vocab_size}}, d, false, policy);
  }
  w.ignore(n.prefix + "layers.*.self_attn.rotary_emb.inv_freq");
  w.ignore(n.prefix + "rotary_emb.inv_freq");
  if (!weights.embed.defined()) return nullptr;  // the loader reports what is missing in finish()
  return std::make_unique<LlamaModel>(c, std::move(weights));
}

std::vector<std::string> LlamaModel::linear_weight_names(const LlamaConfig& c, const LlamaNames& n) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = cat(n.prefix, "layers.", i, ".");
    for (const char* proj : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                             "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}) {
      out.push_back(cat(p, proj, ".weight"));
    }
  }
  if (!c.tie_word_embeddings && !n.lm_head.empty()) out.push_back(n.lm_head);
  return out;
}

std::unique_ptr<LlamaModel> LlamaModel::random(const LlamaConfig& c, at::ScalarType dtype, c10::Device device,
                                               uint64_t seed, double std, const nn::QuantizeRequest& quantize) {
  at::Generator gen = make_generator(seed, device);
  auto opts = at::TensorOptions().dtype(dtype).device(device);
  auto normal = [&](std::vector<int64_t> shape) { return at::normal(0.0, std, shape, gen, opts); };
  // Drawn in a fixed order (weight, then bias) so a seed gives the same model with or without quantization.
  auto layer = [&](int64_t out, int64_t in, bool bias) {
    at::Tensor weight = normal({out, in});
    at::Tensor b = bias ? normal({out}) : at::Tensor();
    return nn::make_linear(weight, b, quantize);
  };
  const int64_t d = c.hidden_size, hd = c.head_dim, qkv = (c.num_heads + 2 * c.num_kv_heads) * hd;
  LlamaWeights w;
  w.embed = normal({c.vocab_size, d});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    LlamaLayerWeights L;
    L.input_norm = at::ones({d}, opts);
    L.qkv = layer(qkv, d, c.qkv_bias);
    L.o = layer(d, c.num_heads * hd, c.o_bias);
    if (c.qk_norm) {
      L.q_norm = at::ones({hd}, opts);
      L.k_norm = at::ones({hd}, opts);
    }
    L.post_norm = at::ones({d}, opts);
    L.gate_up = layer(2 * c.intermediate_size, d, c.mlp_bias);
    L.down = layer(d, c.intermediate_size, c.mlp_bias);
    w.layers.push_back(std::move(L));
  }
  w.norm = at::ones({d}, opts);
  w.lm_head = c.tie_word_embeddings ? nn::Linear::dense(w.embed) : layer(c.vocab_size, d, false);
  return std::make_unique<LlamaModel>(c, std::move(w));
}

std::string LlamaModel::describe_weights() const {
  if (weights_.layers.empty()) return dtype_name(dtype());
  const nn::Linear& first = weights_.layers.front().qkv;
  std::string out = first.describe();
  if (weights_.lm_head.defined() && weights_.lm_head.describe() != out) out += cat(", head ", weights_.lm_head.describe());
  return out;
}

int64_t LlamaModel::weight_bytes() const {
  auto bytes = [](const at::Tensor& t) { return t.defined() ? t.numel() * static_cast<int64_t>(t.element_size()) : 0; };
  auto linear = [&](const nn::Linear& l) { return l.weight_bytes() + bytes(l.bias()); };
  int64_t total = bytes(weights_.embed) + bytes(weights_.norm);
  if (!config_.tie_word_embeddings) total += linear(weights_.lm_head);
  for (const auto& L : weights_.layers) {
    total += bytes(L.input_norm) + bytes(L.post_norm) + bytes(L.q_norm) + bytes(L.k_norm) + linear(L.qkv) + linear(L.o) +
             linear(L.gate_up) + linear(L.down);
  }
  return total;
}

engine::CacheShape LlamaModel::cache_shape() const {
  return {config_.num_layers, config_.num_kv_heads, config_.head_dim};
}

at::Tensor LlamaModel::embed_tokens(const at::Tensor& ids) { return at::embedding(weights_.embed, ids); }

at::Tensor LlamaModel::lm_logits(const at::Tensor& hidden) {
  if (!weights_.lm_head.defined()) throw Error("this model was loaded without its output head (lm_head)");
  return weights_.lm_head.forward(hidden).to(at::kFloat);
}

at::Tensor LlamaModel::decode_step(const at::Tensor& embeds, const engine::DecodeInputs& in, engine::KVCache& cache) {
  const int64_t B = embeds.size(0), D = config_.hidden_size, hd = config_.head_dim;
  const int64_t H = config_.num_heads, KVH = config_.num_kv_heads;
  const double eps = config_.rms_norm_eps, scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const auto& layers = weights_.layers;
  // x is the residual stream, updated in place by add_rms_norm_; h the normed input of each block.
  at::Tensor x = embeds.reshape({B, D}).clone();
  at::Tensor h = at::empty_like(x);
  nn::add_rms_norm_(x, {}, layers.front().input_norm, eps, h);
  for (size_t i = 0; i < layers.size(); ++i) {
    const LlamaLayerWeights& L = layers[i];
    const auto layer = static_cast<int64_t>(i);
    at::Tensor qkv = L.qkv.forward(h);  // [B, (H + 2·KVH)·d]
    at::Tensor q = qkv.narrow(1, 0, H * hd).view({B, H, hd});
    at::Tensor k = qkv.narrow(1, H * hd, KVH * hd).view({B, KVH, hd});
    at::Tensor v = qkv.narrow(1, (H + KVH) * hd, KVH * hd).view({B, KVH, hd});
    if (config_.qk_norm) {
      q = nn::rms_norm(q, L.q_norm, eps);
      k = nn::rms_norm(k, L.k_norm, eps);
    }
    nn::rope_cache_write(q, k, v, in.positions, rope_, cache.keys(layer), cache.values(layer), in.slot);
    at::Tensor attn = nn::decode_attention(q, cache.keys(layer), cache.values(layer), cache.row_start_tensor(), in.slot,
                                           scale, cache.decode_workspace());  // [B, H, d]
    nn::add_rms_norm_(x, L.o.forward(attn.view({B, H * hd})), L.post_norm, eps, h);
    at::Tensor mlp = L.down.forward(nn::silu_mul(L.gate_up.forward(h)));
    nn::add_rms_norm_(x, mlp, i + 1 < layers.size() ? layers[i + 1].input_norm : weights_.norm, eps, h);
  }
  return h;
}

at::Tensor LlamaModel::forward(const at::Tensor& embeds, const engine::ForwardBatch& batch, engine::KVCache& cache) {
  // cos/sin tables for the LibTorch rotation; on CUDA the layers rotate in place with the kernel
  // instead, unless autograd is recording (layer_forward then builds the tables itself).
  at::Tensor cos, sin;
  if (!embeds.is_cuda()) std::tie(cos, sin) = rope_.cos_sin(batch.positions);
  at::Tensor x = embeds;
  for (int64_t i = 0; i < config_.num_layers; ++i) x = layer_forward(i, x, cos, sin, batch, cache);
  return nn::rms_norm(x, weights_.norm, config_.rms_norm_eps);
}

at::Tensor LlamaModel::layer_forward(int64_t index, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                     const engine::ForwardBatch& batch, engine::KVCache& cache) {
  const LlamaLayerWeights& L = weights_.layers[static_cast<size_t>(index)];
  const int64_t B = x.size(0), T = x.size(1), hd = config_.head_dim;
  const int64_t H = config_.num_heads, KVH = config_.num_kv_heads;

  at::Tensor h = nn::rms_norm(x, L.input_norm, config_.rms_norm_eps);
  at::Tensor qkv = L.qkv.forward(h);  // [B, T, (H + 2·KVH)·d]
  at::Tensor q, k, v;
  if (qkv.is_cuda() && !qkv.requires_grad()) {
    // CUDA inference: one rotation kernel in place on the projection instead of a dozen elementwise ops.
    q = qkv.narrow(-1, 0, H * hd).view({B, T, H, hd});
    k = qkv.narrow(-1, H * hd, KVH * hd).view({B, T, KVH, hd});
    v = qkv.narrow(-1, (H + KVH) * hd, KVH * hd).view({B, T, KVH, hd}).transpose(1, 2);
    if (config_.qk_norm) {
      q = nn::rms_norm(q, L.q_norm, config_.rms_norm_eps);
      k = nn::rms_norm(k, L.k_norm, config_.rms_norm_eps);
    }
    nn::apply_rope_(q, k, batch.positions, rope_);
    q = q.transpose(1, 2);
    k = k.transpose(1, 2);
  } else {
    // One split rather than three narrows: in training its backward concatenates the three
    // gradients instead of filling a projection-sized zero tensor for each.
    std::vector<at::Tensor> parts = qkv.split_with_sizes({H * hd, KVH * hd, KVH * hd}, -1);
    at::Tensor c = cos, s = sin;
    if (!c.defined()) std::tie(c, s) = rope_.cos_sin(batch.positions);
    at::Tensor q_heads = parts[0].view({B, T, H, hd}), k_heads = parts[1].view({B, T, KVH, hd});
    if (config_.qk_norm) {
      q_heads = nn::rms_norm(q_heads, L.q_norm, config_.rms_norm_eps);
      k_heads = nn::rms_norm(k_heads, L.k_norm, config_.rms_norm_eps);
    }
    q = rope_.apply(q_heads.transpose(1, 2), c, s);
    k = rope_.apply(k_heads.transpose(1, 2), c, s);
    v = parts[2].view({B, T, KVH, hd}).transpose(1, 2);
  }
  cache.write(index, batch, k, v);
  // Training forwards from an empty cache, whose window then holds exactly this call's k and v:
  // attending to them directly spares reading the window back (a cast under autocast) and the
  // backward through the cache writes. Inference keeps reading the cache, as every later step does.
  const bool fresh = batch.first_slot == 0 && k.requires_grad();
  at::Tensor attn = nn::attention(q, fresh ? k : cache.key_window(index, batch), fresh ? v : cache.value_window(index, batch),
                                  batch.mask, 1.0 / std::sqrt(static_cast<double>(hd)));
  at::Tensor out = x + L.o.forward(attn.transpose(1, 2).reshape({B, T, H * hd}));

  h = nn::rms_norm(out, L.post_norm, config_.rms_norm_eps);
  at::Tensor mlp = L.down.forward(nn::silu_mul(L.gate_up.forward(h)));
  return out + mlp;
}

std::vector<at::Tensor> LlamaModel::parameters() const {
  std::vector<at::Tensor> out = {weights_.embed, weights_.norm};
  if (!config_.tie_word_embeddings && weights_.lm_head.defined()) out.push_back(dense(weights_.lm_head));
  for (const auto& L : weights_.layers) {
    out.push_back(L.input_norm);
    for (const nn::Linear* l : {&L.qkv, &L.o}) {
      out.push_back(dense(*l));
      if (l->bias().defined()) out.push_back(l->bias());
    }
    if (L.q_norm.defined()) {
      out.push_back(L.q_norm);
      out.push_back(L.k_norm);
    }
    out.push_back(L.post_norm);
    for (const nn::Linear* l : {&L.gate_up, &L.down}) {
      out.push_back(dense(*l));
      if (l->bias().defined()) out.push_back(l->bias());
    }
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> LlamaModel::state_dict(const LlamaNames& n) const {
  const auto& c = config_;
  const int64_t q_rows = c.num_heads * c.head_dim, kv_rows = c.num_kv_heads * c.head_dim;
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.emplace_back(n.prefix + "embed_tokens.weight", weights_.embed);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const auto& L = weights_.layers[static_cast<size_t>(i)];
    const std::string p = cat(n.prefix, "layers.", i, ".");
    out.emplace_back(p + "input_layernorm.weight", L.input_norm);
    auto qkv = dense(L.qkv).split_with_sizes({q_rows, kv_rows, kv_rows}, 0);
    out.emplace_back(p + "self_attn.q_proj.weight", qkv[0]);
    out.emplace_back(p + "self_attn.k_proj.weight", qkv[1]);
    out.emplace_back(p + "self_attn.v_proj.weight", qkv[2]);
    if (L.qkv.bias().defined()) {
      auto b = L.qkv.bias().split_with_sizes({q_rows, kv_rows, kv_rows}, 0);
      out.emplace_back(p + "self_attn.q_proj.bias", b[0]);
      out.emplace_back(p + "self_attn.k_proj.bias", b[1]);
      out.emplace_back(p + "self_attn.v_proj.bias", b[2]);
    }
    out.emplace_back(p + "self_attn.o_proj.weight", dense(L.o));
    if (L.o.bias().defined()) out.emplace_back(p + "self_attn.o_proj.bias", L.o.bias());
    if (L.q_norm.defined()) {
      out.emplace_back(p + "self_attn.q_norm.weight", L.q_norm);
      out.emplace_back(p + "self_attn.k_norm.weight", L.k_norm);
    }
    out.emplace_back(p + "post_attention_layernorm.weight", L.post_norm);
    auto gu = dense(L.gate_up).chunk(2, 0);
    out.emplace_back(p + "mlp.gate_proj.weight", gu[0]);
    out.emplace_back(p + "mlp.up_proj.weight", gu[1]);
    out.emplace_back(p + "mlp.down_proj.weight", dense(L.down));
    if (L.gate_up.bias().defined()) {
      auto b = L.gate_up.bias().chunk(2, 0);
      out.emplace_back(p + "mlp.gate_proj.bias", b[0]);
      out.emplace_back(p + "mlp.up_proj.bias", b[1]);
      out.emplace_back(p + "mlp.down_proj.bias", L.down.bias());
    }
  }
  out.emplace_back(n.prefix + "norm.weight", weights_.norm);
  if (!c.tie_word_embeddings) out.emplace_back(n.lm_head, dense(weights_.lm_head));
  return out;
}

}  // namespace januskit::models
