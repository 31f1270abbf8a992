// Where a model folder comes from: -m/--model, or the demo model bundled with januskit.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace januskit::pipelines {

// `flag` when non-empty (must be an existing folder), else the bundled demo model `demo_name`
// ("demo-r1", "demo-janus") found in $JANUSKIT_MODELS, next to the executable (../models or
// ./models), or in the source tree januskit was built from. Throws an Error saying how to get one.
std::filesystem::path resolve_model_dir(const std::string& flag, std::string_view demo_name);

}  // namespace januskit::pipelines
