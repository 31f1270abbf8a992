// The request bodies of the OpenAI-style API that `januskit serve` accepts (docs/openapi.yaml),
// read into typed structs. Fields of the wrong type or out of range are ApiError 400 naming the
// field; fields januskit does not know are ignored, as OpenAI's own server and vLLM ignore them.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/chat.hpp"

namespace januskit::serve {

// What /v1/chat/completions and /v1/completions share: the sampling and stop settings.
struct SamplingRequest {
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens
  std::optional<double> temperature, top_p, min_p, presence_penalty, frequency_penalty, repetition_penalty;
  std::optional<int64_t> top_k;       // -1 and 0: off
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  int64_t n = 1;
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage
  bool logprobs = false;
  int64_t top_logprobs = 0;
};

struct ChatRequest {
  std::string model;  // empty: the only model that can answer
  std::vector<text::Message> messages;
  // An image_url content part (a data: URL): the decoded bytes, and the message it belongs to.
  std::optional<std::vector<uint8_t>> image;
  size_t image_message = 0;
  SamplingRequest sampling;
  std::optional<int64_t> thinking_budget;  // thinking_budget_tokens
  std::optional<bool> enable_thinking;     // chat_template_kwargs.enable_thinking
  bool vote = false;                       // januskit: self-consistency over the n choices
};

struct CompletionRequest {
  std::string model;
  std::string prompt;
  SamplingRequest sampling;
};

struct ImageRequest {
  std::string model;
  std::string prompt;
  int64_t n = 1;
  std::optional<int64_t> size;        // the side of "SxS"; unset: the model's native size
  std::string response_format = "b64_json";  // or "url"
  std::optional<uint64_t> seed;
  std::optional<double> cfg, temperature;
  std::optional<int64_t> top_k;
};

// Each throws ApiError 400 for a body that is not what the API describes.
ChatRequest parse_chat_request(const nlohmann::json& body);
CompletionRequest parse_completion_request(const nlohmann::json& body);
ImageRequest parse_image_request(const nlohmann::json& body);

// The bytes of a data: URL ("data:image/png;base64,…"); ApiError for anything else (remote URLs
// are not fetched: the server reaches nothing outside itself).
std::vector<uint8_t> decode_data_url(const std::string& url, const std::string& param);

}  // namespace januskit::serve
