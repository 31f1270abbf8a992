#include "pipelines/convert_checkpoint.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <set>

#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "io/dtype.hpp"
#include "io/mapped_tensor.hpp"
#include "io/model_dir.hpp"
#include "io/safetensors.hpp"
#include "models/registry.hpp"
#include "nn/quant.hpp"

namespace januskit::pipelines {
namespace {

std::string layer_prefix(const std::string& weight_name) {
  return weight_name.substr(0, weight_name.size() - std::string(".weight").size());
}

io::TensorRewrite gptq_rewrite(std::set<std::string> linear_weights, const nn::QuantSpec& spec) {
  io::TensorRewrite rewrite;
  rewrite.plan = [linear_weights, spec](const io::TensorInfo& t) -> std::vector<io::TensorSpec> {
    if (!linear_weights.contains(t.name) || t.shape.size() != 2 || !at::isFloatingType(t.dtype) ||
        !nn::should_quantize(t.shape[0], t.shape[1], spec)) {
      return {};
    }
    const int64_t N = t.shape[0], K = t.shape[1], per = 32 / spec.bits;
    const int64_t group = spec.group_for(K), G = (K + group - 1) / group;
    const std::string x = layer_prefix(t.name);
    const io::DType i32 = io::DType::I32, f16 = io::DType::F16;
    return {{x + ".qweight", i32, {K / per, N}},
            {x + ".qzeros", i32, {G, N / per}},
            {x + ".scales", f16, {G, N}},
            {x + ".g_idx", i32, {K}}};
  };
  rewrite.compute = [spec](const io::TensorInfo&, const at::Tensor& source) -> std::vector<at::Tensor> {
    const nn::GptqTensors g = nn::to_gptq(nn::quantize(source, spec));
    return {g.qweight, g.qzeros, g.scales, g.g_idx};
  };
  return rewrite;
}

}  // namespace

io::ConvertResult convert_checkpoint(const std::filesystem::path& model, const std::filesystem::path& out,
                                     io::ConvertOptions options, const models::QuantChoice& quant) {
  std::error_code ec;
  const bool folder = std::filesystem::is_directory(model, ec);
  if (!quant.given || (!quant.spec && !folder)) return io::convert_model(model, out, options);
  if (!folder) throw UsageError(cat("--quant: ", model.string(), " is a weights file; quantizing needs the model folder (config.json)"));
  const io::ModelDir dir = io::ModelDir::open(model);
  const std::string config_path = (dir.root / "config.json").string();
  if (const auto stored = models::read_quantization_config(dir.config, config_path)) {
    throw UsageError(cat("--quant: ", model.string(), " is already quantized (", models::describe_layout(*stored),
                         "); convert the original weights"));
  }
  if (!quant.spec) return io::convert_model(model, out, options);
  const std::vector<std::string> names = models::linear_weight_names(dir);
  options.rewrite = gptq_rewrite({names.begin(), names.end()}, *quant.spec);
  const nn::QuantSpec spec = *quant.spec;
  options.edit_config = [spec](nlohmann::json& config) {
    config["quantization_config"] = models::quantization_config_json(spec);
  };
  return io::convert_model(model, out, options);
}

}  // namespace januskit::pipelines
