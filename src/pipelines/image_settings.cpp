#include "pipelines/image_settings.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/build_info.hpp"
#include "core/error.hpp"

namespace januskit::pipelines {

namespace {
constexpr std::string_view kVersionField = ", Version: ";

[[noreturn]] void bad_key(const std::string& source, const char* key, const char* wanted) {
  throw Error(cat(source, ": \"", key, "\" must be ", wanted, "; fix or remove it"));
}

std::optional<double> non_negative(const nlohmann::json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0) {
    bad_key(source, key, "a number >= 0");
  }
  return it->get<double>();
}
}  // namespace

ImageSettings ImageSettingsOverride::over(ImageSettings defaults) const {
  if (cfg) defaults.cfg = *cfg;
  if (temperature) defaults.temperature = *temperature;
  if (top_k) defaults.top_k = *top_k;
  return defaults;
}

ImageSettings model_image_settings(const nlohmann::json& config, const std::string& source) {
  ImageSettings s;
  if (!config.is_object()) throw Error(cat(source, ": expected a JSON object"));
  if (auto cfg = non_negative(config, "guidance_scale", source)) s.cfg = *cfg;
  if (auto t = non_negative(config, "temperature", source)) s.temperature = *t;
  if (auto k = non_negative(config, "top_k", source)) {
    if (*k != std::floor(*k)) bad_key(source, "top_k", "a whole number >= 0");
    s.top_k = static_cast<int64_t>(*k);
  }
  if (auto it = config.find("do_sample"); it != config.end() && !it->is_null()) {
    if (!it->is_boolean()) bad_key(source, "do_sample", "true or false");
    if (!it->get<bool>()) s.temperature = 0;  // greedy, whatever temperature says (as transformers)
  }
  return s;
}

std::string image_parameters(const std::string& prompt, uint64_t seed, const ImageSettings& s,
                             const ImageModelInfo& model, const ImageSourceInfo* source) {
  const std::string edit = source ? cat(", Image CFG scale: ", source->weight, ", Source image: ", source->name) : "";
  return cat(prompt, "\nSteps: ", model.steps, ", CFG scale: ", s.cfg, ", Temperature: ", s.temperature,
             ", Top-k: ", s.top_k, ", Seed: ", seed, edit, ", Size: ", model.size, "x", model.size, ", Model: ", model.name,
             kVersionField, "januskit ", januskit_version());
}

std::string_view parameters_without_version(std::string_view parameters) {
  // The version is the last field; a prompt may itself contain ", Version: ", so search from the end.
  const size_t at = parameters.rfind(kVersionField);
  return at == std::string_view::npos ? parameters : parameters.substr(0, at);
}

}  // namespace januskit::pipelines
