#include "models/janus.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <charconv>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "io/checkpoint.hpp"
#include "io/model_dir.hpp"

namespace januskit::models {

// ---------------------------------------------------------------------------------------------------
// Configuration

namespace {

const nlohmann::json& params_of(const nlohmann::json& j, const char* block, const std::string& source) {
  if (!j.contains(block) || !j[block].is_object()) throw FileError(source, cat("missing the '", block, "' object"));
  const auto& b = j[block];
  static const nlohmann::json empty = nlohmann::json::object();
  return b.contains("params") && b["params"].is_object() ? b["params"] : empty;
}

JanusConfig from_original(const nlohmann::json& j, const std::string& source) {
  JanusConfig c;
  c.naming = JanusNaming::original;
  c.text = LlamaConfig::from_json(j["language_config"], source + " (language_config)");
  c.text.architecture = "LlamaForCausalLM";
  const int64_t d = c.text.hidden_size;

  const auto& vision = params_of(j, "vision_config", source);
  std::string name = json_field<std::string>(vision, "model_name", "siglip_large_patch16_384", source);
  if (name != "siglip_large_patch16_384") {
    throw FileError(source, cat("vision_config.model_name '", name, "' is not supported (Janus-Pro uses siglip_large_patch16_384)"));
  }
  c.vision.image_size = json_field<int64_t>(vision, "image_size", 384, source);
  const int64_t select_layer = json_field<int64_t>(vision, "select_layer", -1, source);
  // timm keeps layers + select_layer + 1 blocks for a negative select_layer.
  c.vision.layers = select_layer < 0 ? c.vision.layers + select_layer + 1 : select_layer;

  const auto& aligner = params_of(j, "aligner_config", source);
  c.aligner_depth = json_field<int64_t>(aligner, "depth", 2, source);
  if (json_field<int64_t>(aligner, "n_embed", d, source) != d) throw FileError(source, "aligner_config.n_embed must equal the LLM hidden size");

  const auto& gen_vision = j.contains("gen_vision_config") ? j["gen_vision_config"] : nlohmann::json::object();
  std::string vq_name = json_field<std::string>(gen_vision, "cls", "VQ-16", source);
  if (vq_name != "VQ-16") throw FileError(source, cat("gen_vision_config.cls '", vq_name, "' is not supported (only VQ-16)"));
  const auto& vq = params_of(j, "gen_vision_config", source);
  c.vq.codebook_size = json_field<int64_t>(vq, "image_token_size", 16384, source);
  c.vq.codebook_dim = json_field<int64_t>(vq, "n_embed", 8, source);
  c.vq.grid = c.vision.image_size / 16;  // VQ-16 downsamples by 16

  const auto& gen_aligner = params_of(j, "gen_aligner_config", source);
  c.gen_aligner_depth = json_field<int64_t>(gen_aligner, "depth", 2, source);
  const auto& gen_head = params_of(j, "gen_head_config", source);
  c.gen_head_dim = json_field<int64_t>(gen_head, "n_embed", d, source);
  return c;
}

JanusConfig from_transformers(const nlohmann::json& j, const std::string& source) {
  JanusConfig c;
  c.naming = JanusNaming::transformers;
  c.text = LlamaConfig::from_json(j["text_config"], source + " (text_config)");
  c.text.architecture = "LlamaForCausalLM";
  // JanusConfig ties lm_head to the embeddings unless told otherwise.
  c.text.tie_word_embeddings = json_field<bool>(j, "tie_word_embeddings", true, source);

  const nlohmann::json vision = j.value("vision_config", nlohmann::json::object());
  c.vision.width = json_field<int64_t>(vision, "hidden_size", 1024, source);
  c.vision.layers = json_field<int64_t>(vision, "num_hidden_layers", 24, source);
  c.vision.heads = json_field<int64_t>(vision, "num_attention_heads", 16, source);
  c.vision.image_size = json_field<int64_t>(vision, "image_size", 384, source);
  c.vision.patch_size = json_field<int64_t>(vision, "patch_size", 16, source);
  c.vision.mlp_dim = static_cast<int64_t>(c.vision.width * json_field<double>(vision, "mlp_ratio", 4.0, source));
  c.vision.layer_norm_eps = json_field<double>(vision, "layer_norm_eps", 1e-6, source);
  c.aligner_depth = json_field<int64_t>(vision, "depth", 2, source);
  if (json_field<std::string>(vision, "hidden_act", "gelu", source) != "gelu" ||
      json_field<bool>(vision, "use_qk_norm", false, source)) {
    throw FileError(source, "vision_config: only gelu and no qk-norm are supported (as in Janus-Pro)");
  }

  const nlohmann::json vq = j.value("vq_config", nlohmann::json::object());
  c.vq.codebook_dim = json_field<int64_t>(vq, "embed_dim", 8, source);
  c.vq.codebook_size = json_field<int64_t>(vq, "num_embeddings", 16384, source);
  c.vq.latent_channels = json_field<int64_t>(vq, "latent_channels", 256, source);
  c.vq.base_channels = json_field<int64_t>(vq, "base_channels", 128, source);
  c.vq.num_res_blocks = json_field<int64_t>(vq, "num_res_blocks", 2, source);
  c.vq.in_channels = json_field<int64_t>(vq, "in_channels", 3, source);
  c.vq.out_channels = json_field<int64_t>(vq, "out_channels", 3, source);
  if (vq.contains("channel_multiplier")) c.vq.channel_mult = vq["channel_multiplier"].get<std::vector<int64_t>>();
  if (c.vq.channel_mult.empty()) throw FileError(source, "vq_config.channel_multiplier must not be empty");
  c.vq.grid = c.vision.image_size / c.vision.patch_size;  // as JanusConfig sets vq num_patches
  c.gen_aligner_depth = json_field<int64_t>(vq, "num_hidden_layers", 2, source);
  c.gen_head_dim = json_field<int64_t>(vq, "projection_dim", c.text.hidden_size, source);
  if (json_field<bool>(vq, "double_latent", false, source)) throw FileError(source, "vq_config.double_latent is not supported");
  return c;
}

}  // namespace

JanusConfig JanusConfig::from_json(const nlohmann::json& j, const std::string& source) {
  if (j.contains("language_config")) return from_original(j, source);
  if (j.contains("text_config")) return from_transformers(j, source);
  throw FileError(source, "not a Janus config: it has neither language_config (deepseek-ai) nor text_config (transformers)");
}

nlohmann::json JanusConfig::to_json() const {
  nlohmann::json text = this->text.to_json();
  text.erase("architectures");
  return {
      {"architectures", {"JanusForConditionalGeneration"}},
      {"model_type", "janus"},
      {"tie_word_embeddings", this->text.tie_word_embeddings},
      {"text_config", text},
      {"vision_config",
       {{"model_type", "janus_vision_model"}, {"hidden_size", vision.width}, {"num_hidden_layers", vision.layers},
        {"num_attention_heads", vision.heads}, {"image_size", vision.image_size}, {"patch_size", vision.patch_size},
        {"mlp_ratio", static_cast<double>(vision.mlp_dim) / vision.width}, {"layer_norm_eps", vision.layer_norm_eps},
        {"projection_dim", this->text.hidden_size}, {"depth", aligner_depth},
        {"num_image_tokens", vision.num_patches()}, {"hidden_act", "gelu"}}},
      {"vq_config",
       {{"model_type", "janus_vqgan"}, {"embed_dim", vq.codebook_dim}, {"num_embeddings", vq.codebook_size},
        {"latent_channels", vq.latent_channels}, {"base_channels", vq.base_channels},
        {"channel_multiplier", vq.channel_mult}, {"num_res_blocks", vq.num_res_blocks},
        {"in_channels", vq.in_channels}, {"out_channels", vq.out_channels}, {"num_patches", vq.grid},
        {"projection_dim", gen_head_dim}, {"num_hidden_layers", gen_aligner_depth},
        {"image_token_embed_dim", this->text.hidden_size}, {"hidden_act", "gelu"}}},
  };
}

// ---------------------------------------------------------------------------------------------------
// Names: the one table from canonical (transformers) names to the original deepseek-ai names.

namespace {

struct Rename {
  std::string_view from, to;
};

// Whole-prefix renames, most specific first.
constexpr Rename kPrefixes[] = {
    {"model.language_model.", "language_model.model."},
    {"lm_head.", "language_model.lm_head."},
    {"model.vision_model.embeddings.patch_embedding.", "vision_model.vision_tower.patch_embed.proj."},
    {"model.vision_model.embeddings.position_embedding.weight", "vision_model.vision_tower.pos_embed"},
    {"model.vision_model.encoder.layers.", "vision_model.vision_tower.blocks."},
    {"model.vision_model.post_layernorm.", "vision_model.vision_tower.norm."},
    {"model.vision_model.", "vision_model.vision_tower."},
    {"model.aligner.", "aligner."},
    {"model.generation_embeddings.", "gen_embed."},
    {"model.generation_aligner.", "gen_aligner."},
    {"model.generation_head.proj_out.", "gen_head.output_mlp_projector."},
    {"model.generation_head.", "gen_head."},
    {"model.vqmodel.", "gen_vision_model."},
};

// Renames inside SigLIP blocks (after the prefix) and inside the VQ model.
constexpr Rename kVisionBlock[] = {
    {".layer_norm1.", ".norm1."},
    {".layer_norm2.", ".norm2."},
    {".self_attn.qkv.", ".attn.qkv."},
    {".self_attn.projection_layer.", ".attn.proj."},
};
constexpr Rename kVq[] = {
    {"decoder.up.", "decoder.conv_blocks."}, {"encoder.down.", "encoder.conv_blocks."}, {".block.", ".res."},
    {"mid.block_1.", "mid.0."},              {"mid.attn_1.", "mid.1."},                 {"mid.block_2.", "mid.2."},
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// MlpProjector layers: transformers' fc1 / hidden_layers.K are the original's layers.0 / layers.2(K+1)
// (the odd indices are the GELUs).
void rename_mlp_layers(std::string& s) {
  if (s.starts_with("fc1.")) {
    s.replace(0, 4, "layers.0.");
    return;
  }
  constexpr std::string_view hidden = "hidden_layers.";
  if (!s.starts_with(hidden)) return;
  size_t dot = s.find('.', hidden.size());
  int k = 0;
  std::from_chars(s.data() + hidden.size(), s.data() + dot, k);
  s = cat("layers.", 2 * (k + 1), s.substr(dot));
}

}  // namespace

std::string janus_checkpoint_name(const std::string& canonical, JanusNaming naming) {
  if (naming == JanusNaming::transformers) return canonical;
  for (const auto& r : kPrefixes) {
    if (!canonical.starts_with(r.from)) continue;
    std::string rest = canonical.substr(r.from.size());
    if (r.from == "model.vision_model.encoder.layers.") {
      rest = "." + rest;  // so that infix rules also match right after the layer index
      for (const auto& v : kVisionBlock) replace_all(rest, v.from, v.to);
      rest = rest.substr(1);
    } else if (r.from == "model.vqmodel.") {
      for (const auto& v : kVq) replace_all(rest, v.from, v.to);
    } else if (r.from == "model.aligner." || r.from == "model.generation_aligner.") {
      rename_mlp_layers(rest);
    }
    return std::string(r.to) + rest;
  }
  return canonical;
}

namespace {

// Canonical names onto the checkpoint's scheme, through the strict loader.
class JanusSource final : public WeightSource {
 public:
  JanusSource(io::WeightLoader& loader, const io::Checkpoint& ckpt, JanusNaming naming)
      : loader_(loader), ckpt_(ckpt), naming_(naming) {}

  at::Tensor take(const std::string& name, at::IntArrayRef shape) override {
    const std::string actual = janus_checkpoint_name(name, naming_);
    // The original SigLIP stores pos_embed as [1, N, W]; transformers squeezed it to [N, W].
    if (ckpt_.contains(actual) && ckpt_.info(actual).shape.size() == shape.size() + 1 &&
        ckpt_.info(actual).shape.front() == 1) {
      std::vector<int64_t> with_one = {1};
      with_one.insert(with_one.end(), shape.begin(), shape.end());
      at::Tensor t = loader_.take(actual, with_one);
      return t.defined() ? t.view(shape) : t;
    }
    return loader_.take(actual, shape);
  }
  bool contains(const std::string& name) const override {
    return loader_.contains(janus_checkpoint_name(name, naming_));
  }
  at::Tensor take_stored(const std::string& name, at::IntArrayRef shape) override {
    return loader_.take_stored(janus_checkpoint_name(name, naming_), shape);
  }
  void release(const std::string& name) override { loader_.release(janus_checkpoint_name(name, naming_)); }
  void ignore(const std::string& canonical_pattern) { loader_.ignore(janus_checkpoint_name(canonical_pattern, naming_)); }

 private:
  io::WeightLoader& loader_;
  const io::Checkpoint& ckpt_;
  JanusNaming naming_;
};

nn::Linear linear(WeightSource& src, const std::string& name, int64_t out, int64_t in, const LinearPolicy& policy) {
  return load_linear(src, {{name, out}}, in, /*bias=*/true, policy);
}

// Linear(in -> out) then depth - 1 × (GELU, Linear(out -> out)), as fc1 / hidden_layers.K.
nn::GeluMlp load_projector(WeightSource& src, const std::string& prefix, int64_t in, int64_t out, int64_t depth,
                           const LinearPolicy& policy) {
  nn::GeluMlp mlp;
  mlp.layers.push_back(linear(src, prefix + "fc1", out, in, policy));
  for (int64_t k = 0; k + 1 < depth; ++k) {
    mlp.layers.push_back(linear(src, cat(prefix, "hidden_layers.", k), out, out, policy));
  }
  return mlp;
}

SiglipEncoder load_siglip(const SiglipConfig& c, WeightSource& src) {
  const std::string p = "model.vision_model.";
  const int64_t W = c.width, M = c.mlp_dim, P = c.patch_size;
  SiglipWeights w;
  w.patch_w = src.take(p + "embeddings.patch_embedding.weight", {W, 3, P, P});
  w.patch_b = src.take(p + "embeddings.patch_embedding.bias", {W});
  w.pos = src.take(p + "embeddings.position_embedding.weight", {c.num_patches(), W});
  for (int64_t i = 0; i < c.layers; ++i) {
    const std::string b = cat(p, "encoder.layers.", i, ".");
    SiglipBlockWeights blk;
    blk.norm1_w = src.take(b + "layer_norm1.weight", {W});
    blk.norm1_b = src.take(b + "layer_norm1.bias", {W});
    if (src.contains(b + "self_attn.qkv.weight")) {  // original checkpoints keep q, k, v fused
      blk.qkv_w = src.take(b + "self_attn.qkv.weight", {3 * W, W});
      blk.qkv_b = src.take(b + "self_attn.qkv.bias", {3 * W});
    } else {
      std::vector<at::Tensor> ws, bs;
      for (const char* x : {"q_proj", "k_proj", "v_proj"}) {
        ws.push_back(src.take(cat(b, "self_attn.", x, ".weight"), {W, W}));
        bs.push_back(src.take(cat(b, "self_attn.", x, ".bias"), {W}));
      }
      if (ws[0].defined() && ws[1].defined() && ws[2].defined()) blk.qkv_w = at::cat(ws, 0);
      if (bs[0].defined() && bs[1].defined() && bs[2].defined()) blk.qkv_b = at::cat(bs, 0);
    }
    blk.proj_w = src.take(b + "self_attn.projection_layer.weight", {W, W});
    blk.proj_b = src.take(b + "self_attn.projection_layer.bias", {W});
    blk.norm2_w = src.take(b + "layer_norm2.weight", {W});
    blk.norm2_b = src.take(b + "layer_norm2.bias", {W});
    blk.fc1_w = src.take(b + "mlp.fc1.weight", {M, W});
    blk.fc1_b = src.take(b + "mlp.fc1.bias", {M});
    blk.fc2_w = src.take(b + "mlp.fc2.weight", {W, M});
    blk.fc2_b = src.take(b + "mlp.fc2.bias", {W});
    w.blocks.push_back(std::move(blk));
  }
  w.norm_w = src.take(p + "post_layernorm.weight", {W});
  w.norm_b = src.take(p + "post_layernorm.bias", {W});
  return SiglipEncoder(c, std::move(w));
}

struct VisionParts {
  SiglipEncoder vision;
  nn::GeluMlp aligner, gen_aligner, gen_head;
  at::Tensor gen_embed;
  VqModel vq;
};

// SigLIP and the VQ model stay in the model dtype (docs/quantization.md: a small share of the bytes, and
// convolutions and the vision tower are where rounding shows in pixels); the aligners and the generation
// head follow the policy like the language model.
VisionParts load_vision_parts(const JanusConfig& c, WeightSource& src, const JanusParts& parts, const LinearPolicy& policy) {
  VisionParts v;
  const int64_t d = c.text.hidden_size;
  if (parts.understanding) {
    v.vision = load_siglip(c.vision, src);
    v.aligner = load_projector(src, "model.aligner.", c.vision.width, d, c.aligner_depth, policy);
  }
  if (parts.generation) {
    v.gen_embed = src.take("model.generation_embeddings.weight", {c.vq.codebook_size, c.vq.codebook_dim});
    v.gen_aligner = load_projector(src, "model.generation_aligner.", c.vq.codebook_dim, d, c.gen_aligner_depth, policy);
    v.gen_head.layers.push_back(linear(src, "model.generation_head.proj_out", c.gen_head_dim, d, policy));
    v.gen_head.layers.push_back(linear(src, "model.generation_head.vision_head", c.vq.codebook_size, c.gen_head_dim, policy));
    v.vq = VqModel::load(c.vq, src, "model.vqmodel.", parts.vq_encoder);
  }
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// The model

JanusModel::JanusModel(JanusConfig config, std::unique_ptr<LlamaModel> language, SiglipEncoder vision,
                       nn::GeluMlp aligner, at::Tensor gen_embed, nn::GeluMlp gen_aligner, nn::GeluMlp gen_head,
                       VqModel vq, JanusParts parts)
    : config_(std::move(config)), language_(std::move(language)), vision_(std::move(vision)),
      aligner_(std::move(aligner)), gen_embed_(std::move(gen_embed)), gen_aligner_(std::move(gen_aligner)),
      gen_head_(std::move(gen_head)), vq_(std::move(vq)), parts_(parts) {}

std::unique_ptr<JanusModel> JanusModel::load(const io::ModelDir& dir, c10::Device device, at::ScalarType dtype,
                                             JanusParts parts, const QuantChoice& quant) {
  Stopwatch clock;
  const std::string config_path = (dir.root / "config.json").string();
  JanusConfig config = JanusConfig::from_json(dir.config, config_path);
  io::Checkpoint ckpt = dir.open_checkpoint();
  // Which scheme do the files use? Decide by the tensors, not the config (converted folders mix them).
  config.naming = ckpt.contains("language_model.model.embed_tokens.weight") ? JanusNaming::original
                                                                          : JanusNaming::transformers;
  io::WeightLoader loader(ckpt, dtype, device);
  JanusSource source(loader, ckpt, config.naming);
  const LinearPolicy policy =
      resolve_linear_policy(quant, read_quantization_config(dir.config, config_path), dtype, device);

  LlamaNames names;
  names.prefix = janus_checkpoint_name("model.language_model.", config.naming);
  names.lm_head = parts.understanding ? janus_checkpoint_name("lm_head.weight", config.naming) : "";
  auto language = LlamaModel::load(config.text, loader, names, policy);
  RecordingSource recorder(source);
  VisionParts v = load_vision_parts(config, recorder, parts, policy);

  // Stored but unused: SigLIP's attention-pool head and the VQ usage statistics (original files), and
  // whatever belongs to a part not requested.
  loader.ignore("vision_model.vision_tower.attn_pool.*");
  loader.ignore("gen_vision_model.quantize.codebook_used");
  for (int64_t i = config.vision.layers; i < 64; ++i) source.ignore(cat("model.vision_model.encoder.layers.", i, ".*"));
  if (!parts.vq_encoder) {
    source.ignore("model.vqmodel.encoder.*");
    source.ignore("model.vqmodel.quant_conv.*");
  }
  if (!parts.understanding) {
    source.ignore("model.vision_model.*");
    source.ignore("model.aligner.*");
    source.ignore("lm_head.*");  // .weight, or a GPTQ head's qweight/qzeros/scales/g_idx
  }
  if (!parts.generation) {
    for (const char* p : {"model.vqmodel.*", "model.generation_embeddings.*", "model.generation_aligner.*",
                          "model.generation_head.*"}) {
      source.ignore(p);
    }
  }
  loader.finish();
  log::debug("loaded Janus (", config.naming == JanusNaming::original ? "deepseek-ai" : "transformers",
             " names) in ", format_seconds(clock.seconds()));
  auto model = std::make_unique<JanusModel>(std::move(config), std::move(language), std::move(v.vision),
                                            std::move(v.aligner), std::move(v.gen_embed), std::move(v.gen_aligner),
                                            std::move(v.gen_head), std::move(v.vq), parts);
  model->named_ = std::move(recorder.records());
  return model;
}

std::unique_ptr<JanusModel> JanusModel::random(const JanusConfig& config, at::ScalarType dtype, c10::Device device,
                                               uint64_t seed, JanusParts parts, const nn::QuantizeRequest& quantize) {
  auto language = LlamaModel::random(config.text, dtype, device, seed, 0.02, quantize);
  RandomWeightSource random(dtype, device, seed + 1);
  RecordingSource recorder(random);
  LinearPolicy policy;
  policy.quantize = quantize;
  policy.dtype = dtype;
  policy.device = device;
  VisionParts v = load_vision_parts(config, recorder, parts, policy);
  auto model = std::make_unique<JanusModel>(config, std::move(language), std::move(v.vision), std::move(v.aligner),
                                            std::move(v.gen_embed), std::move(v.gen_aligner), std::move(v.gen_head),
                                            std::move(v.vq), parts);
  model->named_ = std::move(recorder.records());
  return model;
}

std::vector<std::string> JanusModel::linear_weight_names(const JanusConfig& config) {
  LlamaNames names;
  names.prefix = janus_checkpoint_name("model.language_model.", config.naming);
  names.lm_head = janus_checkpoint_name("lm_head.weight", config.naming);
  std::vector<std::string> out = LlamaModel::linear_weight_names(config.text, names);
  std::vector<std::string> canonical = {"model.aligner.fc1", "model.generation_aligner.fc1",
                                        "model.generation_head.proj_out", "model.generation_head.vision_head"};
  for (int64_t k = 0; k + 1 < config.aligner_depth; ++k) canonical.push_back(cat("model.aligner.hidden_layers.", k));
  for (int64_t k = 0; k + 1 < config.gen_aligner_depth; ++k) {
    canonical.push_back(cat("model.generation_aligner.hidden_layers.", k));
  }
  for (const std::string& c : canonical) out.push_back(janus_checkpoint_name(c + ".weight", config.naming));
  return out;
}

namespace {
int64_t mlp_bytes(const nn::GeluMlp& mlp) {
  int64_t total = 0;
  for (const nn::Linear& l : mlp.layers) {
    total += l.weight_bytes() + (l.bias().defined() ? l.bias().numel() * static_cast<int64_t>(l.bias().element_size()) : 0);
  }
  return total;
}
}  // namespace

int64_t JanusModel::generation_head_bytes() const { return mlp_bytes(gen_head_) + mlp_bytes(gen_aligner_); }

int64_t JanusModel::weight_bytes() const {
  int64_t total = language_->weight_bytes() + mlp_bytes(aligner_) + generation_head_bytes();
  // SigLIP, the VQ model and the generation embeddings stay dense: their recorded tensors are theirs.
  for (const auto& [name, t] : named_) {
    if (name.starts_with("model.aligner.") || name.starts_with("model.generation_aligner.") ||
        name.starts_with("model.generation_head.")) {
      continue;
    }
    total += t.numel() * static_cast<int64_t>(t.element_size());
  }
  return total;
}

std::vector<at::Tensor> JanusModel::parameters() const {
  std::vector<at::Tensor> out = language_->parameters();
  for (const auto& [name, t] : named_) out.push_back(t);
  return out;
}

std::vector<at::Tensor> JanusModel::understanding_parameters() const {
  require(parts_.understanding, "the understanding path");
  std::vector<at::Tensor> out;
  for (const auto& [name, t] : named_) {
    if (name.starts_with("model.vision_model.") || name.starts_with("model.aligner.")) out.push_back(t);
  }
  return out;
}

NamedTensors JanusModel::state_dict() const {
  LlamaNames names;
  names.prefix = "model.language_model.";
  NamedTensors out = language_->state_dict(names);
  for (const auto& [name, t] : named_) {
    // SigLIP's fused q/k/v (as the original checkpoints store it) -> transformers' three projections.
    const std::string fused = "self_attn.qkv.";
    if (size_t at = name.find(fused); at != std::string::npos) {
      const std::string kind = name.substr(at + fused.size());  // "weight" or "bias"
      auto parts = t.chunk(3, 0);
      const char* proj[] = {"q_proj", "k_proj", "v_proj"};
      for (int k = 0; k < 3; ++k) out.emplace_back(cat(name.substr(0, at), "self_attn.", proj[k], ".", kind), parts[k]);
      continue;
    }
    out.emplace_back(name, t);
  }
  return out;
}

void JanusModel::require(bool part, const char* what) const {
  if (!part) throw Error(cat("this Janus model was loaded without its ", what));
}

at::Tensor JanusModel::lm_logits(const at::Tensor& hidden) {
  require(parts_.understanding || config_.text.tie_word_embeddings, "text head (lm_head)");
  return language_->lm_logits(hidden);
}

at::Tensor JanusModel::embed_image_tokens(const at::Tensor& ids) {
  require(parts_.generation, "generation head");
  return gen_aligner_.forward(at::embedding(gen_embed_, ids));
}

at::Tensor JanusModel::image_logits(const at::Tensor& hidden) {
  require(parts_.generation, "generation head");
  return gen_head_.forward(hidden).to(at::kFloat);
}

at::Tensor JanusModel::encode_images(const at::Tensor& pixels) {
  require(parts_.understanding, "vision encoder");
  return aligner_.forward(vision_.forward(pixels.to(dtype())));
}

at::Tensor JanusModel::embed_with_images(const at::Tensor& ids, const at::Tensor& image_embeds, int64_t image_token_id) {
  at::Tensor embeds = embed_tokens(ids);
  at::Tensor mask = (ids == image_token_id);
  const int64_t slots = mask.sum().item<int64_t>();
  if (slots != image_embeds.size(0) * image_embeds.size(1)) {
    throw Error(cat("the prompt has ", slots, " image placeholder tokens but ", image_embeds.size(0), " image(s) of ",
                    image_embeds.size(1), " embeddings"));
  }
  return embeds.masked_scatter(mask.unsqueeze(-1), image_embeds.to(embeds.scalar_type()));
}

at::Tensor JanusModel::decode_images(const at::Tensor& ids) {
  require(parts_.generation, "VQ decoder");
  return vq_.decode_tokens(ids.to(device()));
}

}  // namespace januskit::models
