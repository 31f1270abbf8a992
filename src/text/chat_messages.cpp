#include "text/chat_messages.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace januskit::text {
namespace {

std::string content_text(const nlohmann::json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw Error(cat(where, ": \"content\" must be a string or an array of text parts"));
  std::string out;
  for (const auto& part : content) {
    if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") || !part["text"].is_string()) {
      throw Error(cat(where, ": only {\"type\": \"text\", \"text\": …} content parts are supported here"));
    }
    out += part["text"].get<std::string>();
  }
  return out;
}

}  // namespace

std::vector<Message> parse_messages(const nlohmann::json& conversation, std::string_view source) {
  if (!conversation.is_array() || conversation.empty()) {
    throw Error(cat(source, ": expected a non-empty JSON array of {\"role\": …, \"content\": …} messages"));
  }
  std::vector<Message> out;
  for (size_t i = 0; i < conversation.size(); ++i) {
    const auto& m = conversation[i];
    const std::string where = cat(source, ": message ", i + 1);
    if (!m.is_object()) throw Error(cat(where, " is not a JSON object"));
    if (!m.contains("role") || !m["role"].is_string()) throw Error(cat(where, ": \"role\" must be a string"));
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant") {
      throw Error(cat(where, ": role \"", role, "\" is not supported (system, user or assistant)"));
    }
    if (!m.contains("content")) throw Error(cat(where, ": no \"content\""));
    Message msg{role, content_text(m["content"], where)};
    for (const char* key : {"reasoning_content", "reasoning"}) {
      auto it = m.find(key);
      if (it == m.end() || it->is_null()) continue;
      if (!it->is_string()) throw Error(cat(where, ": \"", key, "\" must be a string"));
      msg.reasoning_content = it->get<std::string>();
      break;
    }
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace januskit::text
