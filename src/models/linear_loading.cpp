#include "models/linear_loading.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "core/error.hpp"

namespace januskit::models {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char* kReadableLayouts =
    "januskit reads GPTQ checkpoints (quant_method gptq, bits 4 or 8, desc_act false); for other formats run the "
    "original weights with --quant int8|int4, or write a GPTQ folder with `januskit convert --quant`";

at::Tensor cat_or_undefined(const std::vector<at::Tensor>& parts) {
  for (const at::Tensor& p : parts) {
    if (!p.defined()) return {};
  }
  return parts.size() == 1 ? parts.front() : at::cat(parts, 0);
}

at::Tensor load_bias(WeightSource& source, const std::vector<LinearPart>& parts) {
  std::vector<at::Tensor> biases;
  for (const LinearPart& p : parts) biases.push_back(source.take(p.prefix + ".bias", {p.rows}));
  return cat_or_undefined(biases);
}

std::optional<nn::QuantizedMatrix> read_gptq_part(WeightSource& source, const LinearPart& part, int64_t in,
                                                  const nn::GptqLayout& layout) {
  nn::GptqTensors t;
  t.qweight = source.take_stored(part.prefix + ".qweight", {});
  t.qzeros = source.take_stored(part.prefix + ".qzeros", {});
  t.scales = source.take_stored(part.prefix + ".scales", {});
  if (source.contains(part.prefix + ".g_idx")) t.g_idx = source.take_stored(part.prefix + ".g_idx", {});
  if (!t.qweight.defined() || !t.qzeros.defined() || !t.scales.defined()) return std::nullopt;
  nn::QuantizedMatrix q = nn::from_gptq(t, layout, part.rows, in, part.prefix);
  for (const char* suffix : {".qweight", ".qzeros", ".scales", ".g_idx"}) source.release(part.prefix + suffix);
  return q;
}

nn::Linear load_stored(WeightSource& source, const std::vector<LinearPart>& parts, int64_t in, bool bias,
                       const LinearPolicy& policy) {
  if (!policy.stored) {
    throw Error(cat(parts.front().prefix, ".qweight: quantized tensors in a folder whose config.json has no "
                                          "quantization_config (bits, group_size); add it or use the original weights"));
  }
  std::vector<nn::QuantizedMatrix> quantized;
  for (const LinearPart& p : parts) {
    if (!source.contains(p.prefix + ".qweight") || source.contains(p.prefix + ".weight")) {
      throw Error(cat(p.prefix, ": dense while ", parts.front().prefix,
                      " is quantized; januskit runs fused layers (q/k/v, gate/up) in one form"));
    }
    std::optional<nn::QuantizedMatrix> q = read_gptq_part(source, p, in, *policy.stored);
    if (!q) return {};
    quantized.push_back(std::move(*q));
  }
  nn::QuantizedMatrix q = quantized.size() == 1 ? std::move(quantized.front()) : nn::cat_rows(quantized);
  at::Tensor b = bias ? load_bias(source, parts) : at::Tensor();
  if (policy.dequantize_stored) return nn::Linear::dense(nn::dequantize(q, policy.dtype).to(policy.device), b);
  return nn::Linear::quantized(q, b, policy.device);
}

}  // namespace

std::optional<nn::GptqLayout> read_quantization_config(const nlohmann::json& config, const std::string& source) {
  if (!config.is_object() || !config.contains("quantization_config") || config["quantization_config"].is_null()) {
    return std::nullopt;
  }
  const nlohmann::json& q = config["quantization_config"];
  auto fail = [&](const std::string& problem) {
    return FileError(source, cat("quantization_config: ", problem, "; ", kReadableLayouts));
  };
  if (!q.is_object()) throw fail("must be an object");
  const std::string method = q.contains("quant_method") && q["quant_method"].is_string()
                                 ? lower(q["quant_method"].get<std::string>())
                                 : std::string();
  if (method != "gptq") throw fail(cat("quant_method '", method, "' is not supported"));
  nn::GptqLayout layout;
  if (!q.contains("bits") || !q["bits"].is_number_integer()) throw fail("bits is missing");
  layout.bits = q["bits"].get<int>();
  if (layout.bits != 4 && layout.bits != 8) throw fail(cat(layout.bits, "-bit weights are not supported"));
  const int64_t group = q.contains("group_size") && q["group_size"].is_number_integer() ? q["group_size"].get<int64_t>() : 128;
  if (group != -1 && group <= 0) throw fail(cat("group_size ", group, " is not a positive size or -1"));
  layout.group_size = group == -1 ? 0 : group;
  if (q.contains("desc_act") && q["desc_act"].is_boolean() && q["desc_act"].get<bool>()) {
    throw fail("desc_act (act-order) checkpoints are not supported");
  }
  const std::string format = q.contains("checkpoint_format") && q["checkpoint_format"].is_string()
                                 ? lower(q["checkpoint_format"].get<std::string>())
                                 : "gptq";
  if (format != "gptq" && format != "gptq_v2") throw fail(cat("checkpoint_format '", format, "' is not supported"));
  layout.v1 = format == "gptq";
  return layout;
}

nlohmann::json quantization_config_json(const nn::QuantSpec& spec) {
  return {{"quant_method", "gptq"},
          {"bits", spec.bits},
          {"group_size", spec.group_size > 0 ? spec.group_size : -1},
          {"sym", true},
          {"desc_act", false},
          {"static_groups", false},
          {"true_sequential", true},
          {"damp_percent", 0.0},
          {"checkpoint_format", "gptq"},
          {"lm_head", true},
          {"meta", {{"quantizer", {"januskit"}}, {"method", "rtn"}}}};
}

std::string describe_layout(const nn::GptqLayout& layout) {
  return cat("int", layout.bits, " ", layout.group_size > 0 ? cat("g", layout.group_size) : std::string("per channel"),
             " (GPTQ", layout.v1 ? "" : " v2", ")");
}

LinearPolicy resolve_linear_policy(const QuantChoice& choice, const std::optional<nn::GptqLayout>& stored,
                                   at::ScalarType dtype, c10::Device device) {
  LinearPolicy policy;
  policy.stored = stored;
  policy.dtype = dtype;
  policy.device = device;
  if (!choice.given) return policy;
  if (!stored) {
    policy.quantize.spec = choice.spec;
    return policy;
  }
  if (!choice.spec) {
    policy.dequantize_stored = true;
    return policy;
  }
  const nn::QuantSpec asked = *choice.spec;
  const bool same_bits = asked.bits == stored->bits;
  const bool same_group = asked.group_size == stored->group_size;
  if (!same_bits || !same_group) {
    throw UsageError(cat("--quant ", asked.name(), ": this folder is already quantized (", describe_layout(*stored),
                         "); quantizing rounded weights again adds error, so run it as it is (no --quant), "
                         "dequantized (--quant none), or quantize the original weights"));
  }
  return policy;
}

nn::Linear load_linear(WeightSource& source, const std::vector<LinearPart>& parts, int64_t in, bool bias,
                       const LinearPolicy& policy) {
  // By the tensors, not the config: a GPTQ folder may keep some layers dense (lm_head, small layers).
  const std::string& first = parts.front().prefix;
  if (!source.contains(first + ".weight") && source.contains(first + ".qweight")) {
    return load_stored(source, parts, in, bias, policy);
  }
  int64_t rows = 0;
  for (const LinearPart& p : parts) rows += p.rows;
  const bool quantize = policy.quantize.applies_to(rows, in);
  std::vector<at::Tensor> weights;
  std::vector<nn::QuantizedMatrix> quantized;
  for (const LinearPart& p : parts) {
    const std::string name = p.prefix + ".weight";
    if (!source.contains(name) && source.contains(p.prefix + ".qweight")) {
      throw Error(cat(p.prefix, ": quantized while ", parts.front().prefix,
                      " is dense; januskit runs fused layers (q/k/v, gate/up) in one form"));
    }
    if (!quantize) {
      weights.push_back(source.take(name, {p.rows, in}));
      continue;
    }
    // Straight from the file's dtype to codes: no dense copy of the layer in the model dtype.
    const at::Tensor stored = source.take_stored(name, {p.rows, in});
    if (!stored.defined()) return {};
    quantized.push_back(nn::quantize(stored, *policy.quantize.spec));
    source.release(name);
  }
  at::Tensor b = bias ? load_bias(source, parts) : at::Tensor();
  if (!quantize) {
    at::Tensor w = cat_or_undefined(weights);
    if (weights.size() > 1) {
      // The fused copy replaces the parts (views of the file or converted copies): their pages need
      // not stay resident, or a load's peak is the model plus the touched file.
      weights.clear();
      for (const LinearPart& p : parts) source.evict(p.prefix + ".weight");
    }
    return w.defined() ? nn::Linear::dense(std::move(w), std::move(b)) : nn::Linear();
  }
  const nn::QuantizedMatrix q = quantized.size() == 1 ? quantized.front() : nn::cat_rows(quantized);
  return nn::Linear::quantized(q, b, policy.device);
}

}  // namespace januskit::models
