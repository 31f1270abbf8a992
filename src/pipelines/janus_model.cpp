#include "pipelines/janus_model.hpp"

#include <ATen/ATen.h>

#include "core/device.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "models/registry.hpp"
#include "pipelines/model_location.hpp"

namespace januskit::pipelines {

text::Tokenizer load_janus_tokenizer(const std::filesystem::path& folder) {
  return text::Tokenizer::load(folder, {.processor_class = "LlamaTokenizerFast"});
}

JanusBundle load_janus(const ModelRequest& request, models::JanusParts parts) {
  apply_threads(request);
  c10::Device device = resolve_device(parse_device(request.device));
  c10::ScalarType dtype = resolve_dtype(parse_dtype(request.dtype), device);
  std::filesystem::path folder = resolve_model_dir(request.model, "demo-janus");
  Stopwatch clock;
  JanusBundle b{io::ModelDir::open(folder), nullptr, load_janus_tokenizer(folder), folder.filename().string()};
  if (b.name.empty()) b.name = folder.parent_path().filename().string();
  models::ArchitectureInfo arch = models::detect_architecture(b.dir);
  if (arch.kind != models::ModelKind::janus) {
    throw FileError((folder / "config.json").string(),
                    cat(arch.architecture, " is not a Janus-Pro model; use `januskit ask` for text models"));
  }
  const auto& tok = b.tokenizer;
  log::debug("prompt special tokens: ", tok.processor_rule());
  b.bos = tok.require_token_id(tok.bos_token().value_or("<｜begin▁of▁sentence｜>"));
  b.eos = tok.require_token_id(tok.eos_token().value_or("<｜end▁of▁sentence｜>"));
  b.pad = tok.require_token_id(tok.pad_token().value_or("<｜▁pad▁｜>"));
  b.begin_of_image = tok.require_token_id("<begin_of_image>");
  b.end_of_image = tok.require_token_id("<end_of_image>");
  b.image_placeholder = tok.require_token_id("<image_placeholder>");
  b.model = models::JanusModel::load(b.dir, device, dtype, parts, quant_choice(request));
  log::info("loaded ", b.name, " on ", device_name(device), " (", dtype_name(dtype), ", ", b.model->describe_weights(),
            ") in ", format_seconds(clock.seconds()));
  return b;
}

at::Tensor understanding_pixels(const JanusBundle& b, const io::RgbImage& picture) {
  const int64_t side = b.model->config().vision.image_size;
  return io::to_normalized_tensor(io::letterbox_square(picture, side)).unsqueeze(0).to(b.model->device());
}

}  // namespace januskit::pipelines
