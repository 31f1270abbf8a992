#include "serve/openai_request.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "serve/api_error.hpp"
#include "serve/base64.hpp"
#include "text/chat_messages.hpp"

namespace januskit::serve {

namespace {

using nlohmann::json;

// Typed access to the fields of one JSON object; null counts as absent (clients send it for "unset").
class Fields {
 public:
  Fields(const json& object, std::string prefix) : j_(object), prefix_(std::move(prefix)) {
    if (!j_.is_object()) throw bad_field(prefix_, "expected a JSON object");
  }

  const json* find(const std::string& key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string name(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

  std::optional<std::string> string(const std::string& key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) throw bad_field(name(key), "expected a string");
    return v->get<std::string>();
  }
  std::optional<bool> boolean(const std::string& key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) throw bad_field(name(key), "expected true or false");
    return v->get<bool>();
  }
  std::optional<double> number(const std::string& key, double lo, double hi) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) throw bad_field(name(key), "expected a number");
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi) throw bad_field(name(key), cat("must be in [", lo, ", ", hi, "], got ", v->dump()));
    return x;
  }
  std::optional<int64_t> integer(const std::string& key, int64_t lo, int64_t hi) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    int64_t x = 0;
    if (v->is_number_integer()) {
      if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw bad_field(name(key), cat("must be in [", lo, ", ", hi, "], got ", v->dump()));
      }
      x = v->get<int64_t>();
    } else if (v->is_number_float() && std::isfinite(v->get<double>()) && std::floor(v->get<double>()) == v->get<double>() &&
               std::fabs(v->get<double>()) < 9e15) {
      x = static_cast<int64_t>(v->get<double>());
    } else {
      throw bad_field(name(key), "expected an integer");
    }
    if (x < lo || x > hi) throw bad_field(name(key), cat("must be in [", lo, ", ", hi, "], got ", x));
    return x;
  }

 private:
  const json& j_;
  std::string prefix_;
};

constexpr int64_t kMaxChoices = 64;

// Any 64-bit integer; negative ones (some clients send them) as their bit pattern.
std::optional<uint64_t> seed_field(const Fields& f) {
  auto seed = f.integer("seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  return seed ? std::optional<uint64_t>(static_cast<uint64_t>(*seed)) : std::nullopt;
}
constexpr int64_t kMaxTokens = int64_t{1} << 40;

SamplingRequest parse_sampling(const Fields& f) {
  SamplingRequest s;
  s.max_tokens = f.integer("max_completion_tokens", 1, kMaxTokens);
  if (!s.max_tokens) s.max_tokens = f.integer("max_tokens", 1, kMaxTokens);
  s.temperature = f.number("temperature", 0, 100);
  s.top_p = f.number("top_p", 0, 1);
  if (s.top_p && *s.top_p == 0) throw bad_field("top_p", "must be greater than 0");
  s.min_p = f.number("min_p", 0, 1);
  s.presence_penalty = f.number("presence_penalty", -2, 2);
  s.frequency_penalty = f.number("frequency_penalty", -2, 2);
  s.repetition_penalty = f.number("repetition_penalty", 1e-6, 100);
  s.top_k = f.integer("top_k", -1, std::numeric_limits<int32_t>::max());
  if (s.top_k && *s.top_k < 0) s.top_k = 0;
  s.seed = seed_field(f);
  if (const json* stop = f.find("stop")) {
    if (stop->is_string()) {
      s.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array() && stop->size() <= 16) {
      for (const auto& e : *stop) {
        if (!e.is_string()) throw bad_field("stop", "expected a string or an array of strings");
        s.stop.push_back(e.get<std::string>());
      }
    } else {
      throw bad_field("stop", "expected a string or an array of at most 16 strings");
    }
    for (const auto& t : s.stop) {
      if (t.empty()) throw bad_field("stop", "a stop string is empty");
    }
  }
  s.n = f.integer("n", 1, kMaxChoices).value_or(1);
  s.stream = f.boolean("stream").value_or(false);
  if (const json* so = f.find("stream_options")) {
    Fields options(*so, "stream_options");
    s.include_usage = options.boolean("include_usage").value_or(false);
  }
  // Chat sends a boolean and top_logprobs; /v1/completions an integer count.
  if (const json* lp = f.find("logprobs")) {
    if (lp->is_boolean()) {
      s.logprobs = lp->get<bool>();
    } else {
      s.top_logprobs = f.integer("logprobs", 0, 20).value_or(0);
      s.logprobs = true;
    }
  }
  if (auto top = f.integer("top_logprobs", 0, 20)) {
    if (!s.logprobs) throw bad_field("top_logprobs", "needs \"logprobs\": true");
    s.top_logprobs = *top;
  }
  return s;
}

// Takes the image_url parts out of a conversation (their bytes go to the request) so the text parts
// remain for text::parse_messages.
json take_images(const json& messages, ChatRequest& r) {
  if (!messages.is_array() || messages.empty()) throw bad_field("messages", "expected a non-empty array of messages");
  json out = json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    json m = messages[i];
    if (m.is_object() && m.contains("content") && m["content"].is_array()) {
      json parts = json::array();
      for (const auto& part : m["content"]) {
        if (part.is_object() && part.contains("type") && part["type"] == "image_url") {
          const std::string param = cat("messages[", i, "].content");
          if (r.image) throw bad_field(param, "one image per request is supported");
          const json* url = part.contains("image_url") && part["image_url"].is_object() && part["image_url"].contains("url")
                                ? &part["image_url"]["url"]
                                : nullptr;
          if (url == nullptr || !url->is_string()) throw bad_field(param, "an image_url part needs image_url.url (a data: URL)");
          r.image = decode_data_url(url->get<std::string>(), param);
          r.image_message = i;
          continue;
        }
        parts.push_back(part);
      }
      m["content"] = parts.empty() ? json("") : parts;
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string model_field(const Fields& f) { return f.string("model").value_or(""); }

}  // namespace

std::vector<uint8_t> decode_data_url(const std::string& url, const std::string& param) {
  const std::string marker = ";base64,";
  const size_t comma = url.find(marker);
  if (url.rfind("data:", 0) != 0 || comma == std::string::npos) {
    throw bad_field(param, "image_url.url must be a data: URL (data:image/png;base64,…); remote URLs are not fetched");
  }
  auto bytes = base64_decode(std::string_view(url).substr(comma + marker.size()));
  if (!bytes || bytes->empty()) throw bad_field(param, "the data: URL does not hold valid base64");
  return *bytes;
}

ChatRequest parse_chat_request(const json& body) {
  Fields f(body, "");
  ChatRequest r;
  r.model = model_field(f);
  const json* messages = f.find("messages");
  if (messages == nullptr) throw bad_field("messages", "is required");
  try {
    r.messages = text::parse_messages(take_images(*messages, r), "messages");
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    throw bad_field("messages", e.what());
  }
  r.sampling = parse_sampling(f);
  r.thinking_budget = f.integer("thinking_budget_tokens", 0, kMaxTokens);
  if (const json* kwargs = f.find("chat_template_kwargs")) {
    r.enable_thinking = Fields(*kwargs, "chat_template_kwargs").boolean("enable_thinking");
  }
  r.vote = f.boolean("vote").value_or(false);
  if (r.vote && r.sampling.stream) throw bad_field("vote", "is answered in one response: use it with \"stream\": false");
  return r;
}

CompletionRequest parse_completion_request(const json& body) {
  Fields f(body, "");
  CompletionRequest r;
  r.model = model_field(f);
  const json* prompt = f.find("prompt");
  if (prompt == nullptr) throw bad_field("prompt", "is required");
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    r.prompt = (*prompt)[0].get<std::string>();
  } else if (prompt->is_string()) {
    r.prompt = prompt->get<std::string>();
  } else {
    throw bad_field("prompt", "expected a string (or an array holding one string)");
  }
  if (r.prompt.empty()) throw bad_field("prompt", "is empty");
  r.sampling = parse_sampling(f);
  return r;
}

ImageRequest parse_image_request(const json& body) {
  Fields f(body, "");
  ImageRequest r;
  r.model = model_field(f);
  auto prompt = f.string("prompt");
  if (!prompt) throw bad_field("prompt", "is required");
  if (prompt->find_first_not_of(" \t\r\n") == std::string::npos) throw bad_field("prompt", "is empty");
  r.prompt = *prompt;
  r.n = f.integer("n", 1, kMaxChoices).value_or(1);
  if (auto size = f.string("size")) {
    const size_t x = size->find('x');
    int64_t w = -1, h = -2;
    try {
      if (x != std::string::npos && x > 0 && x + 1 < size->size() &&
          size->find_first_not_of("0123456789x") == std::string::npos && size->size() < 12) {
        w = std::stoll(size->substr(0, x));
        h = std::stoll(size->substr(x + 1));
      }
    } catch (const std::exception&) {
    }
    if (w != h || w <= 0) throw bad_field("size", cat("expected \"SxS\" with the model's native side, got \"", *size, "\""));
    r.size = w;
  }
  r.response_format = f.string("response_format").value_or("b64_json");
  if (r.response_format != "b64_json" && r.response_format != "url") {
    throw bad_field("response_format", "expected \"b64_json\" or \"url\"");
  }
  r.seed = seed_field(f);
  r.cfg = f.number("cfg", 0, 100);
  r.temperature = f.number("temperature", 0, 100);
  r.top_k = f.integer("top_k", 0, std::numeric_limits<int32_t>::max());
  return r;
}

}  // namespace januskit::serve
