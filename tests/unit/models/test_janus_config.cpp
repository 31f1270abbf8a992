#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "models/janus.hpp"

using namespace januskit;
using models::JanusConfig;
using models::JanusNaming;

namespace {
// Janus-Pro-7B's config.json as deepseek-ai ships it (docs: janus-pro.md §1.2).
nlohmann::json janus_pro_7b() {
  return nlohmann::json::parse(R"({
    "aligner_config": {"cls": "MlpProjector", "model_type": "aligner",
      "params": {"depth": 2, "input_dim": 1024, "n_embed": 4096, "projector_type": "mlp_gelu"}},
    "architectures": ["MultiModalityCausalLM"],
    "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner",
      "params": {"depth": 2, "input_dim": 8, "n_embed": 4096, "projector_type": "mlp_gelu"}},
    "gen_head_config": {"cls": "vision_head", "model_type": "gen_head",
      "params": {"image_token_embed": 4096, "image_token_size": 16384, "n_embed": 4096}},
    "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision", "params": {"image_token_size": 16384, "n_embed": 8}},
    "language_config": {"max_position_embeddings": 16384, "model_type": "llama", "num_hidden_layers": 30,
      "torch_dtype": "bfloat16", "vocab_size": 102400},
    "model_type": "multi_modality", "torch_dtype": "bfloat16", "transformers_version": "4.33.1",
    "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision",
      "params": {"image_size": 384, "model_name": "siglip_large_patch16_384", "select_feature": "same", "select_layer": -1}}
  })");
}
}  // namespace

TEST(JanusConfig, OriginalSevenBFillsLlamaDefaults) {
  JanusConfig c = JanusConfig::from_json(janus_pro_7b(), "config.json");
  EXPECT_EQ(c.naming, JanusNaming::original);
  EXPECT_EQ(c.text.hidden_size, 4096);
  EXPECT_EQ(c.text.intermediate_size, 11008);
  EXPECT_EQ(c.text.num_layers, 30);
  EXPECT_EQ(c.text.num_heads, 32);
  EXPECT_EQ(c.text.num_kv_heads, 32);
  EXPECT_EQ(c.text.vocab_size, 102400);
  EXPECT_EQ(c.text.max_positions, 16384);
  EXPECT_FALSE(c.text.tie_word_embeddings);
  EXPECT_EQ(c.vision.layers, 24);
  EXPECT_EQ(c.vision.width, 1024);
  EXPECT_EQ(c.vision.num_patches(), 576);
  EXPECT_EQ(c.tokens_per_image(), 576);
  EXPECT_EQ(c.vq.image_size(), 384);
  EXPECT_EQ(c.vq.codebook_size, 16384);
  EXPECT_EQ(c.gen_head_dim, 4096);
}

TEST(JanusConfig, ParameterCountMatchesTheCheckpoint) {
  // The 7B language model holds 6,910,365,696 parameters (janus-pro.md §1.3).
  JanusConfig c = JanusConfig::from_json(janus_pro_7b(), "config.json");
  EXPECT_EQ(c.text.parameter_count(), 6910365696);
}

TEST(JanusConfig, TransformersFormatRoundTrip) {
  JanusConfig c = JanusConfig::from_json(janus_pro_7b(), "config.json");
  JanusConfig back = JanusConfig::from_json(c.to_json(), "config.json");
  EXPECT_EQ(back.naming, JanusNaming::transformers);
  EXPECT_EQ(back.text.hidden_size, 4096);
  EXPECT_EQ(back.vision.mlp_dim, 4096);
  EXPECT_EQ(back.vq.channel_mult, c.vq.channel_mult);
  EXPECT_EQ(back.tokens_per_image(), 576);
  EXPECT_FALSE(back.text.tie_word_embeddings);
}

TEST(JanusConfig, UnsupportedVisionTowerIsNamed) {
  nlohmann::json j = janus_pro_7b();
  j["vision_config"]["params"]["model_name"] = "clip_vit_b16";
  try {
    JanusConfig::from_json(j, "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("clip_vit_b16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(JanusConfig::from_json(nlohmann::json::object(), "config.json"), Error);
}

TEST(JanusNames, CanonicalToOriginalTable) {
  auto o = [](const std::string& n) { return models::janus_checkpoint_name(n, JanusNaming::original); };
  EXPECT_EQ(o("model.language_model.layers.3.mlp.up_proj.weight"), "language_model.model.layers.3.mlp.up_proj.weight");
  EXPECT_EQ(o("lm_head.weight"), "language_model.lm_head.weight");
  EXPECT_EQ(o("model.vision_model.embeddings.position_embedding.weight"), "vision_model.vision_tower.pos_embed");
  EXPECT_EQ(o("model.vision_model.encoder.layers.11.layer_norm1.bias"), "vision_model.vision_tower.blocks.11.norm1.bias");
  EXPECT_EQ(o("model.vision_model.encoder.layers.0.self_attn.qkv.weight"), "vision_model.vision_tower.blocks.0.attn.qkv.weight");
  EXPECT_EQ(o("model.vision_model.encoder.layers.2.self_attn.projection_layer.weight"),
            "vision_model.vision_tower.blocks.2.attn.proj.weight");
  EXPECT_EQ(o("model.aligner.hidden_layers.0.bias"), "aligner.layers.2.bias");
  EXPECT_EQ(o("model.generation_aligner.fc1.weight"), "gen_aligner.layers.0.weight");
  EXPECT_EQ(o("model.generation_head.proj_out.weight"), "gen_head.output_mlp_projector.weight");
  EXPECT_EQ(o("model.vqmodel.decoder.up.1.block.0.nin_shortcut.weight"),
            "gen_vision_model.decoder.conv_blocks.1.res.0.nin_shortcut.weight");
  EXPECT_EQ(o("model.vqmodel.decoder.mid.attn_1.q.weight"), "gen_vision_model.decoder.mid.1.q.weight");
  EXPECT_EQ(o("model.vqmodel.quantize.embedding.weight"), "gen_vision_model.quantize.embedding.weight");
  EXPECT_EQ(models::janus_checkpoint_name("lm_head.weight", JanusNaming::transformers), "lm_head.weight");
}
