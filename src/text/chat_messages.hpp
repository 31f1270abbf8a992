// OpenAI-style conversations ([{"role": …, "content": …}, …]) as januskit's chat messages: read by
// `ask --messages FILE.json` (and the server's request bodies).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string_view>
#include <vector>

#include "text/chat.hpp"

namespace januskit::text {

// Each element needs "role" ("system", "user" or "assistant") and "content": a string, or an array
// of {"type": "text", "text": …} parts (joined as they are). An assistant's optional
// "reasoning_content" (or "reasoning") string is kept for the templates that use it. Anything else
// (another part type, a null content, a wrong type) throws Error naming `source` and the message.
std::vector<Message> parse_messages(const nlohmann::json& conversation, std::string_view source);

}  // namespace januskit::text
