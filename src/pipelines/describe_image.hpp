// `januskit describe`: Janus-Pro image understanding. The image is preprocessed as the reference does
// (io/image.hpp), encoded by SigLIP + aligner, and its embeddings replace the <image_placeholder> tokens
// of the SFT-format prompt; the answer is decoded greedily by default, as the reference's README does.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/text_generator.hpp"
#include "io/image.hpp"
#include "pipelines/text_model.hpp"
#include "text/chat.hpp"

namespace januskit::pipelines {

struct DescribeOptions {
  ModelRequest model;          // default model: the bundled demo-janus
  std::string image;           // path
  std::string question = "Describe this image.";
  int64_t max_tokens = 512;    // the reference's max_new_tokens
  engine::SamplingOptions sampling = greedy();  // temperature 0 unless asked otherwise
  std::optional<uint64_t> seed;

  static engine::SamplingOptions greedy() {
    engine::SamplingOptions s;
    s.temperature = 0;
    return s;
  }
};

struct DescribeResult {
  std::string model;
  std::vector<int32_t> prompt_ids;  // after placeholder expansion
  std::vector<int32_t> output_ids;
  std::string content;
  std::string finish_reason;
  engine::GenerationStats stats;
  uint64_t seed = 0;
};

DescribeResult describe_image(const DescribeOptions& options, const std::function<void(std::string_view)>& on_text = {});
// With a loaded model (the server): a conversation in the SFT format; with a picture, exactly one
// message holds kImagePlaceholder where the image goes (text::render_janus_chat asks for the answer).
struct JanusBundle;
inline constexpr std::string_view kImagePlaceholder = "<image_placeholder>";
DescribeResult describe_conversation(JanusBundle& bundle, const std::vector<text::Message>& conversation,
                                     const io::RgbImage* picture, const DescribeOptions& options,
                                     const std::function<void(std::string_view)>& on_text = {});

nlohmann::json to_json(const DescribeResult& result);

}  // namespace januskit::pipelines
