#include "pipelines/model_location.hpp"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "core/error.hpp"

namespace januskit::pipelines {
namespace {

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

std::filesystem::path resolve_model_dir(const std::string& flag, std::string_view demo_name) {
  namespace fs = std::filesystem;
  if (!flag.empty()) {
    fs::path dir(flag);
    if (!fs::exists(dir)) throw FileError(flag, "no such model folder (-m/--model)");
    if (!fs::is_directory(dir)) throw FileError(flag, "-m/--model expects a model folder (config.json + weights + tokenizer.json)");
    return dir;
  }
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("JANUSKIT_MODELS")) candidates.push_back(fs::path(env) / demo_name);
  fs::path exe = executable_dir();
  if (!exe.empty()) {
    candidates.push_back(exe.parent_path() / "models" / demo_name);
    candidates.push_back(exe / "models" / demo_name);
  }
#ifdef JANUSKIT_SOURCE_MODELS_DIR
  candidates.push_back(fs::path(JANUSKIT_SOURCE_MODELS_DIR) / demo_name);
#endif
  for (const auto& c : candidates) {
    if (fs::exists(c / "config.json")) return c;
  }
  throw Error(cat("no -m/--model given and the bundled demo model '", demo_name,
                  "' was not found (looked in $JANUSKIT_MODELS, next to the executable and in the source tree); "
                  "pass -m DIR with a downloaded model folder"));
}

}  // namespace januskit::pipelines
