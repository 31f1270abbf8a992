// `januskit convert`, with `--quant`: io::convert_model's streaming conversion, plus GPTQ quantization of
// the layers the model runs as linear layers (models::linear_weight_names, nn::should_quantize: the rule
// load-time quantization follows, so both build the same layers) and a quantization_config in the
// written config.json.
#pragma once

#include <filesystem>

#include "io/convert.hpp"
#include "models/linear_loading.hpp"

namespace januskit::pipelines {

// quant not given (or "none" on a dense folder): a plain conversion. Quantizing needs a model folder
// of a supported architecture that is not quantized already (UsageError otherwise).
io::ConvertResult convert_checkpoint(const std::filesystem::path& model, const std::filesystem::path& out,
                                     io::ConvertOptions options, const models::QuantChoice& quant);

}  // namespace januskit::pipelines
