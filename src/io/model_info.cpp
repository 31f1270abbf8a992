#include "io/model_info.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.hpp"
#include "io/mapped_tensor.hpp"
#include "io/model_dir.hpp"
#include "io/torch_zip.hpp"

namespace januskit::io {
namespace {

namespace fs = std::filesystem;

bool is_wrapper(std::string_view component) {
  return component == "model" || component == "module" || component == "transformer" || component == "base_model";
}

std::string detect_format_name(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  uint8_t head[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  return looks_like_zip(std::span<const uint8_t>(head, static_cast<size_t>(in.gcount()))) ? "torch zip" : "safetensors";
}

bool float_for_memory(at::ScalarType t) {
  return at::isFloatingType(t) && t != at::kFloat8_e4m3fn && t != at::kFloat8_e5m2;
}

std::string pad(std::string s, size_t width, bool right = false) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

// X.scales, X.qzeros, X.g_idx beside an X.qweight: how a GPTQ layer is packed, not parameters.
bool is_quantization_metadata(const Checkpoint& ckpt, const std::string& name) {
  for (std::string_view suffix : {".scales", ".qzeros", ".g_idx"}) {
    if (name.ends_with(suffix)) return ckpt.contains(name.substr(0, name.size() - suffix.size()) + ".qweight");
  }
  return false;
}

void add_to_component(ModelInfo& info, std::map<std::string, size_t>& index, const std::string& name, int64_t params,
                      uint64_t bytes) {
  const std::string component = component_of(name);
  auto [it, inserted] = index.emplace(component, info.components.size());
  if (inserted) info.components.push_back(ComponentStats{component});
  ComponentStats& c = info.components[it->second];
  c.tensors += 1;
  c.params += params;
  c.bytes += bytes;
}

std::string fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

// Shortest round-trip-ish text for a value in a summary.
std::string number(double v) {
  std::ostringstream out;
  out << std::setprecision(7) << v;
  return out.str();
}

}  // namespace

std::string component_of(const std::string& name) {
  const size_t first = name.find('.');
  if (first == std::string::npos) return name;
  const std::string head = name.substr(0, first);
  if (!is_wrapper(head)) return head;
  const size_t second = name.find('.', first + 1);
  if (second == std::string::npos) return head;  // "model.weight": the wrapper itself
  return name.substr(0, second);
}

Checkpoint open_model_weights(const fs::path& model) {
  std::error_code ec;
  if (fs::is_directory(model, ec)) return ModelDir::open(model).open_checkpoint();
  if (!fs::exists(model, ec)) throw FileError(model.string(), "no such file or folder");
  return Checkpoint::open_files({model});
}

ModelInfo inspect_model(const fs::path& model) {
  ModelInfo info;
  info.path = model;
  std::error_code ec;
  int64_t quant_bits = 0;
  Checkpoint ckpt = [&] {
    if (!fs::is_directory(model, ec)) return open_model_weights(model);
    ModelDir dir = ModelDir::open(model);
    if (dir.config.contains("architectures") && dir.config["architectures"].is_array()) {
      for (const auto& a : dir.config["architectures"]) {
        if (a.is_string()) info.architectures.push_back(a.get<std::string>());
      }
    }
    if (dir.config.contains("model_type") && dir.config["model_type"].is_string()) {
      info.model_type = dir.config["model_type"].get<std::string>();
    }
    if (dir.config.contains("quantization_config") && dir.config["quantization_config"].is_object()) {
      const nlohmann::json& q = dir.config["quantization_config"];
      auto text = [&](const char* key) { return q.contains(key) && q[key].is_string() ? q[key].get<std::string>() : std::string(); };
      auto integer = [&](const char* key) { return q.contains(key) && q[key].is_number_integer() ? q[key].get<int64_t>() : int64_t{0}; };
      auto flag = [&](const char* key) { return q.contains(key) && q[key].is_boolean() && q[key].get<bool>(); };
      quant_bits = integer("bits");
      const int64_t group = integer("group_size");
      info.quantization = cat(text("quant_method").empty() ? "unknown method" : text("quant_method"),
                              quant_bits > 0 ? cat(" int", quant_bits) : std::string(),
                              group > 0 ? cat(", group ", group) : group == -1 ? std::string(", per channel") : std::string(),
                              flag("sym") ? ", symmetric" : "", flag("desc_act") ? ", act order" : "",
                              text("checkpoint_format").empty() ? std::string() : cat(", format ", text("checkpoint_format")));
    }
    return dir.open_checkpoint();
  }();

  for (const fs::path& f : ckpt.files()) {
    const uint64_t bytes = fs::file_size(f, ec);
    info.files.push_back(WeightFileInfo{f, detect_format_name(f), ec ? 0 : bytes});
    info.bytes_on_disk += ec ? 0 : bytes;
  }
  std::map<std::string, size_t> component_index;
  for (const std::string& name : ckpt.names()) {
    const TensorInfo& t = ckpt.info(name);
    const bool packed = name.ends_with(".qweight") && static_cast<int64_t>(t.nbytes) / std::max<int64_t>(t.numel(), 1) == 4;
    if (packed) info.quantized_layers += 1;
    const int64_t n = packed && (quant_bits == 4 || quant_bits == 8) ? t.numel() * (32 / quant_bits) : t.numel();
    info.tensors += 1;
    info.tensor_bytes += t.nbytes;
    if (is_quantization_metadata(ckpt, name)) {
      info.quantization_values += t.numel();
      info.quantization_bytes += t.nbytes;
      info.memory_f32 += t.nbytes;  // kept as stored whatever the compute dtype
      info.memory_bf16 += t.nbytes;
      info.memory_f16 += t.nbytes;
      add_to_component(info, component_index, name, 0, t.nbytes);
      info.tensor_list.push_back(t);
      continue;
    }
    info.params += n;
    info.params_by_dtype[short_dtype_name(t.dtype)] += n;
    const bool as_float = float_for_memory(t.dtype);
    info.memory_f32 += as_float ? static_cast<uint64_t>(n) * 4 : t.nbytes;
    info.memory_bf16 += as_float ? static_cast<uint64_t>(n) * 2 : t.nbytes;
    info.memory_f16 += as_float ? static_cast<uint64_t>(n) * 2 : t.nbytes;
    add_to_component(info, component_index, name, n, t.nbytes);
    info.tensor_list.push_back(t);
  }
  return info;
}

std::string format_count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string format_model_info(const ModelInfo& info, bool list_tensors) {
  std::ostringstream out;
  auto row = [&](std::string_view key, const std::string& value) { out << pad(std::string(key), 14) << value << "\n"; };
  row("model", info.path.string());
  std::string arch;
  for (const std::string& a : info.architectures) arch += (arch.empty() ? "" : ", ") + a;
  if (arch.empty()) arch = info.model_type.empty() ? "unknown (no config.json architectures)" : info.model_type;
  if (!info.model_type.empty() && !info.architectures.empty()) arch += cat(" (model_type ", info.model_type, ")");
  row("architecture", arch);
  for (size_t i = 0; i < info.files.size(); ++i) {
    const WeightFileInfo& f = info.files[i];
    row(i == 0 ? (info.files.size() == 1 ? "weights" : cat("weights (", info.files.size(), ")")) : "",
        cat(f.path.filename().string(), " (", f.format, ", ", format_bytes(f.bytes), ")"));
  }
  row("on disk", format_bytes(info.bytes_on_disk));
  if (!info.quantization.empty()) {
    row("quantization", cat(info.quantization, " (", info.quantized_layers, " quantized layers; scales, zeros, indices: ",
                            format_count(info.quantization_values), " values, ", format_bytes(info.quantization_bytes), ")"));
  }
  row("tensors", format_count(info.tensors));
  const double params = static_cast<double>(info.params);
  row("parameters", format_count(info.params) + (params >= 1e9   ? cat(" (", fixed(params / 1e9, 2), " B)")
                                                 : params >= 1e6 ? cat(" (", fixed(params / 1e6, 2), " M)")
                                                                 : std::string()));
  std::string dtypes;
  for (const auto& [dtype, n] : info.params_by_dtype) dtypes += cat(dtypes.empty() ? "" : ", ", dtype, " ", format_count(n));
  row("dtypes", dtypes.empty() ? "-" : dtypes);
  row("memory", cat("f32 ", format_bytes(info.memory_f32), ", bf16 ", format_bytes(info.memory_bf16), ", f16 ",
                    format_bytes(info.memory_f16)));

  size_t width = 9;
  for (const ComponentStats& c : info.components) width = std::max(width, c.name.size());
  out << "\n" << pad("component", width + 2) << pad("tensors", 8, true) << pad("parameters", 17, true) << pad("share", 8, true)
      << pad("bytes", 12, true) << "\n";
  for (const ComponentStats& c : info.components) {
    const double share = info.params > 0 ? 100.0 * static_cast<double>(c.params) / static_cast<double>(info.params) : 0;
    out << pad(c.name, width + 2) << pad(format_count(c.tensors), 8, true) << pad(format_count(c.params), 17, true)
        << pad(fixed(share, 1) + "%", 8, true) << pad(format_bytes(c.bytes), 12, true) << "\n";
  }
  if (list_tensors) {
    size_t name_width = 4, shape_width = 5;
    for (const TensorInfo& t : info.tensor_list) {
      name_width = std::max(name_width, t.name.size());
      shape_width = std::max(shape_width, format_shape(t.shape).size());
    }
    out << "\n" << pad("name", name_width + 2) << pad("dtype", 9) << pad("shape", shape_width + 2) << "file\n";
    for (const TensorInfo& t : info.tensor_list) {
      out << pad(t.name, name_width + 2) << pad(short_dtype_name(t.dtype), 9) << pad(format_shape(t.shape), shape_width + 2)
          << t.file.filename().string() << "\n";
    }
  }
  return out.str();
}

nlohmann::json model_info_json(const ModelInfo& info, bool list_tensors) {
  nlohmann::json j;
  j["model"] = info.path.string();
  j["architectures"] = info.architectures;
  j["model_type"] = info.model_type;
  j["files"] = nlohmann::json::array();
  for (const WeightFileInfo& f : info.files) {
    j["files"].push_back({{"path", f.path.string()}, {"format", f.format}, {"bytes", f.bytes}});
  }
  j["bytes_on_disk"] = info.bytes_on_disk;
  j["tensors"] = info.tensors;
  j["parameters"] = info.params;
  j["tensor_bytes"] = info.tensor_bytes;
  j["parameters_by_dtype"] = info.params_by_dtype;
  if (!info.quantization.empty()) {
    j["quantization"] = {{"summary", info.quantization}, {"quantized_layers", info.quantized_layers},
                         {"metadata_values", info.quantization_values}, {"metadata_bytes", info.quantization_bytes}};
  }
  j["memory_bytes"] = {{"f32", info.memory_f32}, {"bf16", info.memory_bf16}, {"f16", info.memory_f16}};
  j["components"] = nlohmann::json::array();
  for (const ComponentStats& c : info.components) {
    j["components"].push_back({{"name", c.name}, {"tensors", c.tensors}, {"parameters", c.params}, {"bytes", c.bytes}});
  }
  if (list_tensors) {
    j["tensor_list"] = nlohmann::json::array();
    for (const TensorInfo& t : info.tensor_list) {
      j["tensor_list"].push_back({{"name", t.name}, {"dtype", short_dtype_name(t.dtype)}, {"shape", t.shape},
                                  {"file", t.file.filename().string()}, {"bytes", t.nbytes}});
    }
  }
  return j;
}

TensorSummary summarize_tensor(const Checkpoint& ckpt, const std::string& name) {
  TensorSummary s;
  s.info = ckpt.info(name);
  // A flat contiguous view of the mapping (a copy only for a non-contiguous view in a .bin).
  const at::Tensor flat = ckpt.view(name).contiguous().reshape({-1});
  const int64_t n = flat.numel();
  // 4M elements per chunk: 32 MB of f64 at a time, large enough that per-chunk overhead vanishes.
  constexpr int64_t kChunk = 1 << 22;
  double sum = 0, sum_sq = 0;
  int64_t finite = 0;
  s.min = std::numeric_limits<double>::infinity();
  s.max = -std::numeric_limits<double>::infinity();
  for (int64_t start = 0; start < n; start += kChunk) {
    at::Tensor values = flat.slice(0, start, std::min(n, start + kChunk)).to(at::kDouble);
    const int64_t count = values.numel();
    const int64_t ok = at::isfinite(values).sum().item<int64_t>();
    if (ok != count) values = values.masked_select(at::isfinite(values));  // rare: NaN or inf present
    finite += ok;
    s.nonfinite += count - ok;
    if (ok == 0) continue;
    const auto [lo, hi] = at::aminmax(values);
    s.min = std::min(s.min, lo.item<double>());
    s.max = std::max(s.max, hi.item<double>());
    sum += values.sum().item<double>();
    sum_sq += at::dot(values, values).item<double>();
  }
  if (finite == 0) {
    s.min = s.max = 0;
  } else {
    s.mean = sum / static_cast<double>(finite);
    s.std = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(finite) - s.mean * s.mean));
  }
  const at::Tensor head = flat.slice(0, 0, std::min<int64_t>(n, 8)).to(at::kDouble);
  for (int64_t i = 0; i < head.numel(); ++i) s.first.push_back(head[i].item<double>());
  return s;
}

std::string format_tensor_summary(const TensorSummary& s) {
  std::ostringstream out;
  out << pad("tensor", 14) << s.info.name << "\n"
      << pad("dtype", 14) << short_dtype_name(s.info.dtype) << "\n"
      << pad("shape", 14) << format_shape(s.info.shape) << "\n"
      << pad("file", 14) << s.info.file.string() << "\n"
      << pad("bytes", 14) << format_bytes(s.info.nbytes) << "\n"
      << pad("min / max", 14) << number(s.min) << " / " << number(s.max) << "\n"
      << pad("mean / std", 14) << number(s.mean) << " / " << number(s.std) << "\n";
  if (s.nonfinite > 0) out << pad("non-finite", 14) << format_count(s.nonfinite) << "\n";
  std::string first;
  for (double v : s.first) first += (first.empty() ? "" : ", ") + number(v);
  out << pad("first values", 14) << "[" << first << (s.info.numel() > static_cast<int64_t>(s.first.size()) ? ", ...]" : "]")
      << "\n";
  return out.str();
}

nlohmann::json tensor_summary_json(const TensorSummary& s) {
  return {{"name", s.info.name},           {"dtype", short_dtype_name(s.info.dtype)},
          {"shape", s.info.shape},         {"file", s.info.file.string()},
          {"bytes", s.info.nbytes},        {"min", s.min},
          {"max", s.max},                  {"mean", s.mean},
          {"std", s.std},                  {"nonfinite", s.nonfinite},
          {"first_values", s.first}};
}

}  // namespace januskit::io
