// A loaded Janus-Pro model with its tokenizer and the special tokens both paths need (looked up by
// string: their ids differ between Janus versions and tokenizer sources).
#pragma once

#include <memory>
#include <string>

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

}  // namespace januskit::pipelines
