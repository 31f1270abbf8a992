// A loaded Janus-Pro model with its tokenizer and the special tokens both paths need (looked up by
// string: their ids differ between Janus versions and tokenizer sources).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "io/image.hpp"
#include "io/model_dir.hpp"
#include "models/janus.hpp"
#include "pipelines/text_model.hpp"
#include "text/tokenizer.hpp"

namespace januskit::pipelines {

struct JanusBundle {
  io::ModelDir dir;
  std::unique_ptr<models::JanusModel> model;
  text::Tokenizer tokenizer;
  std::string name;
  int32_t bos = 0, eos = 0, pad = 0;
  int32_t begin_of_image = 0, end_of_image = 0, image_placeholder = 0;
};

JanusBundle load_janus(const ModelRequest& request, models::JanusParts parts);

// A picture as the official processor prepares it for understanding (letterboxed to the vision
// encoder's side, scaled to [-1, 1]): [1, 3, S, S] on the model's device.
at::Tensor understanding_pixels(const JanusBundle& b, const io::RgbImage& picture);

// A Janus folder's tokenizer as the official code builds it: VLChatProcessor always instantiates
// LlamaTokenizerFast (transformers 4.x), whatever tokenizer_config.json names, so its prompts start
// with BOS unless add_bos_token is false, even when tokenizer.json's post-processor adds none.
text::Tokenizer load_janus_tokenizer(const std::filesystem::path& folder);

}  // namespace januskit::pipelines
