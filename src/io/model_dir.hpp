// A model folder as users download it: config.json, tokenizer files and weights.
//
// Design: weights are found in a fixed order of preference so that a folder holding both formats
// (HF repos often do) always loads the same files:
//   1. model.safetensors.index.json   (every shard its weight_map names must exist)
//   2. model.safetensors, else the only *.safetensors
//   3. pytorch_model.bin.index.json   (as 1)
//   4. pytorch_model.bin, else the only pytorch_model*.bin, *.pt or *.pth
// Shard names are read from the index, never built (R1 distills use six-digit "-of-000008").
// Several candidate files without an index are an error rather than a guess.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "io/checkpoint.hpp"

namespace januskit::io {

struct ModelDir {
  std::filesystem::path root;
  nlohmann::json config;
  std::optional<std::filesystem::path> tokenizer_json, tokenizer_config_json, generation_config_json,
      special_tokens_map_json, preprocessor_config_json;
  std::vector<std::filesystem::path> weight_files;
  std::optional<std::filesystem::path> weight_index;  // the index the weights came from, if any

  // Throws FileError naming the folder or file: no folder, no/invalid config.json, no weights
  // (listing what was looked for), an index naming a missing shard.
  static ModelDir open(const std::filesystem::path& dir);
  // Opens the weights; with an index, also checks that each tensor it lists is in the shard it names.
  Checkpoint open_checkpoint() const;
};

// Reads a JSON file; FileError naming it when missing or invalid.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Finds the weights of `dir` as described above; sets `index` when they come from an index file.
std::vector<std::filesystem::path> find_weight_files(const std::filesystem::path& dir,
                                                      std::optional<std::filesystem::path>& index);

}  // namespace januskit::io
