// The per-image sampling settings of text-to-image generation and the A1111-style "parameters" text
// that records them (with the exact seed) in every PNG januskit writes. Kept free of LibTorch so that
// manifest parsing and the gallery's bookkeeping do not depend on the model code.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace januskit::pipelines {

struct ImageSettings {
  double cfg = 5.0;          // classifier-free guidance weight (the reference default)
  double temperature = 1.0;  // 0 = argmax after guidance
  int64_t top_k = 0;         // 0 = off, as the reference

  bool operator==(const ImageSettings&) const = default;
};

// The settings a command line or manifest gives; unset ones come from the model (see below).
struct ImageSettingsOverride {
  std::optional<double> cfg;
  std::optional<double> temperature;
  std::optional<int64_t> top_k;

  ImageSettings over(ImageSettings defaults) const;
};

// A model's own defaults from its generation_config.json, read as transformers' Janus reads it for
// image generation: `guidance_scale` (CFG weight), `do_sample` (false: argmax, i.e. temperature 0),
// `temperature`, `top_k`. Keys the file does not set keep the reference defaults above (the
// deepseek-ai scripts sample at temperature 1 from all tokens with CFG 5), so a folder without such
// keys behaves as before. `source` names the file in errors.
ImageSettings model_image_settings(const nlohmann::json& generation_config, const std::string& source);

// What an image's pixels depend on besides its prompt and seed: the model and its output shape.
struct ImageModelInfo {
  std::string name;           // model folder name, as shown in the metadata
  int64_t steps = 0;          // image tokens per image (576 for Janus-Pro)
  int64_t size = 0;           // image side in pixels (384 for Janus-Pro)
};

// What an edited image depends on beyond a generated one's (Janus-4o's text-and-image-to-image).
struct ImageSourceInfo {
  std::string name;     // the input picture's file name
  double weight = 5.0;  // the partial condition's guidance weight (--image-cfg)
};

// "PROMPT\nSteps: 576, CFG scale: 5, Temperature: 1, Top-k: 0, Seed: 7, Size: 384x384, Model: M,
// Version: januskit V" — the layout AUTOMATIC1111 and stable-diffusion.cpp write; an edit adds
// "Image CFG scale: W, Source image: NAME" after the seed.
std::string image_parameters(const std::string& prompt, uint64_t seed, const ImageSettings& settings,
                             const ImageModelInfo& model, const ImageSourceInfo* source = nullptr);

// The parameters text without its trailing ", Version: …" field: two images with equal stems were made
// from the same inputs, whichever januskit build wrote them.
std::string_view parameters_without_version(std::string_view parameters);

}  // namespace januskit::pipelines
