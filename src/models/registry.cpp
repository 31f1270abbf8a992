#include "models/registry.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "io/checkpoint.hpp"
#include "io/model_dir.hpp"
#include "models/janus.hpp"
#include "models/llama.hpp"

namespace januskit::models {

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> list = {
      "LlamaForCausalLM (Llama, R1-Distill-Llama)",
      "Qwen2ForCausalLM (Qwen2, R1-Distill-Qwen, QwQ)",
      "Qwen3ForCausalLM (Qwen3, R1-0528-Qwen3)",
      "MultiModalityCausalLM (Janus-Pro, deepseek-ai format)",
      "JanusForConditionalGeneration (Janus-Pro, transformers format)",
  };
  return list;
}

namespace {
std::string supported_list() {
  std::string out;
  for (const auto& a : supported_architectures()) out += (out.empty() ? "" : ", ") + a;
  return out;
}
}  // namespace

ArchitectureInfo detect_architecture(const io::ModelDir& dir) {
  const auto& config = dir.config;
  std::string arch;
  if (config.contains("architectures") && config["architectures"].is_array() && !config["architectures"].empty() &&
      config["architectures"][0].is_string()) {
    arch = config["architectures"][0].get<std::string>();
  }
  std::string model_type = config.value("model_type", std::string());
  if (arch == "LlamaForCausalLM" || arch == "Qwen2ForCausalLM" || arch == "Qwen3ForCausalLM" ||
      (arch.empty() && (model_type == "llama" || model_type == "qwen2" || model_type == "qwen3"))) {
    const char* by_type = model_type == "qwen2" ? "Qwen2ForCausalLM" : model_type == "qwen3" ? "Qwen3ForCausalLM" : "LlamaForCausalLM";
    return {ModelKind::text_decoder, arch.empty() ? by_type : arch};
  }
  if (arch == "MultiModalityCausalLM" || arch == "JanusForConditionalGeneration" || model_type == "multi_modality" ||
      model_type == "janus") {
    return {ModelKind::janus, arch.empty() ? "MultiModalityCausalLM" : arch};
  }
  std::string what = arch.empty() ? (model_type.empty() ? std::string("no architecture") : "model_type '" + model_type + "'")
                                  : "architecture '" + arch + "'";
  throw FileError((dir.root / "config.json").string(),
                  cat("unsupported ", what, "; januskit supports ", supported_list()));
}

std::unique_ptr<engine::LanguageModel> load_text_decoder(const io::ModelDir& dir, c10::Device device,
                                                         at::ScalarType dtype, const QuantChoice& quant) {
  ArchitectureInfo info = detect_architecture(dir);
  const std::string config_path = (dir.root / "config.json").string();
  if (info.kind != ModelKind::text_decoder) {
    throw FileError(config_path, cat(info.architecture, " is a Janus-Pro model: use `januskit describe` or `januskit generate`"));
  }
  Stopwatch clock;
  LlamaConfig config = LlamaConfig::from_json(dir.config, config_path);
  io::Checkpoint checkpoint = dir.open_checkpoint();
  io::WeightLoader loader(checkpoint, dtype, device);
  const LinearPolicy policy = resolve_linear_policy(quant, read_quantization_config(dir.config, config_path), dtype, device);
  auto model = LlamaModel::load(config, loader, {}, policy);
  loader.finish();
  log::debug("loaded ", info.architecture, " (", config.num_layers, " layers, ", config.parameter_count() / 1e6,
             "M parameters) in ", clock.seconds(), " s");
  return model;
}

std::vector<std::string> linear_weight_names(const io::ModelDir& dir) {
  const ArchitectureInfo info = detect_architecture(dir);
  const std::string config_path = (dir.root / "config.json").string();
  if (info.kind == ModelKind::text_decoder) {
    return LlamaModel::linear_weight_names(LlamaConfig::from_json(dir.config, config_path));
  }
  JanusConfig config = JanusConfig::from_json(dir.config, config_path);
  config.naming = dir.open_checkpoint().contains("language_model.model.embed_tokens.weight") ? JanusNaming::original
                                                                                           : JanusNaming::transformers;
  return JanusModel::linear_weight_names(config);
}

}  // namespace januskit::models
