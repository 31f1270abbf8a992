#include "pipelines/image_settings.hpp"

#include "core/build_info.hpp"
#include "core/error.hpp"

namespace januskit::pipelines {

namespace {
constexpr std::string_view kVersionField = ", Version: ";
}

std::string image_parameters(const std::string& prompt, uint64_t seed, const ImageSettings& s,
                             const ImageModelInfo& model) {
  return cat(prompt, "\nSteps: ", model.steps, ", CFG scale: ", s.cfg, ", Temperature: ", s.temperature,
             ", Top-k: ", s.top_k, ", Seed: ", seed, ", Size: ", model.size, "x", model.size, ", Model: ", model.name,
             kVersionField, "januskit ", januskit_version());
}

std::string_view parameters_without_version(std::string_view parameters) {
  // The version is the last field; a prompt may itself contain ", Version: ", so search from the end.
  const size_t at = parameters.rfind(kVersionField);
  return at == std::string_view::npos ? parameters : parameters.substr(0, at);
}

}  // namespace januskit::pipelines
