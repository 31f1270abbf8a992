#include "text/chat.hpp"

#include "core/error.hpp"
#include "text/utf8.hpp"

namespace januskit::text {
namespace {

enum class Role { system, user, assistant };

Role parse_role(const std::string& role) {
  if (role == "system") return Role::system;
  if (role == "user") return Role::user;
  if (role == "assistant") return Role::assistant;
  throw UsageError(cat("unknown chat role \"", role, "\" (expected system, user or assistant)"));
}

// The text after the last </think>: the answer part of an earlier reasoning turn.
std::string_view answer_part(std::string_view content) {
  size_t close = content.rfind(kThinkClose);
  return close == std::string_view::npos ? content : content.substr(close + kThinkClose.size());
}

// Conversation.get_prompt() for SeparatorStyle.DeepSeek, then .strip().
std::string render_deepseek_sft(const std::vector<std::pair<std::string_view, std::string_view>>& turns,
                                std::string_view system_prompt) {
  std::string out;
  if (!system_prompt.empty()) out.append(system_prompt).append("\n\n");
  for (size_t i = 0; i < turns.size(); ++i) {
    auto [role, content] = turns[i];
    std::string_view stripped = python_strip(content);
    out.append(role);
    if (stripped.empty()) {
      out += ':';
    } else {
      out.append(": ").append(stripped).append(i % 2 == 0 ? std::string_view("\n\n") : kJanusEos);
    }
  }
  return std::string(python_strip(out));
}

}  // namespace

std::string_view python_strip(std::string_view s) {
  size_t begin = 0;
  while (begin < s.size()) {
    size_t next = begin;
    if (!utf8::is_python_space(utf8::next(s, next))) break;
    begin = next;
  }
  size_t end = s.size();
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t probe = start;
    if (!utf8::is_python_space(utf8::next(s, probe))) break;
    end = start;
  }
  return s.substr(begin, end - begin);
}

std::string render_r1(const std::vector<Message>& messages, bool add_generation_prompt, std::string_view bos) {
  std::string_view system;
  for (const Message& m : messages) {
    if (parse_role(m.role) == Role::system) system = m.content;
  }
  std::string out;
  out.append(bos).append(system);
  for (const Message& m : messages) {
    switch (parse_role(m.role)) {
      case Role::system:
        break;
      case Role::user:
        out.append(kR1User).append(m.content);
        break;
      case Role::assistant:
        out.append(kR1Assistant).append(answer_part(m.content)).append(kR1Eos);
        break;
    }
  }
  if (add_generation_prompt) out.append(kR1Assistant).append(kThinkOpen).append("\n");
  return out;
}

std::string render_janus_chat(const std::vector<Message>& messages, std::string_view system_prompt) {
  std::vector<std::pair<std::string_view, std::string_view>> turns;
  for (const Message& m : messages) {
    switch (parse_role(m.role)) {
      case Role::system:
        system_prompt = m.content;
        break;
      case Role::user:
        turns.emplace_back(kJanusUser, m.content);
        break;
      case Role::assistant:
        turns.emplace_back(kJanusAssistant, m.content);
        break;
    }
  }
  if (!turns.empty() && turns.back().first == kJanusUser) turns.emplace_back(kJanusAssistant, "");
  return render_deepseek_sft(turns, system_prompt);
}

std::string render_janus_t2i(std::string_view prompt) {
  return render_deepseek_sft({{kJanusUser, prompt}, {kJanusAssistant, ""}}, "") + std::string(kBeginOfImage);
}

std::string render_janus_edit(std::string_view instruction, int64_t understanding_tokens, int64_t generation_tokens) {
  auto block = [](std::string_view tag, int64_t n) {
    std::string out(kBeginOfImage);
    for (int64_t i = 0; i < n; ++i) out += tag;
    return out += kEndOfImage;
  };
  return render_janus_t2i(block(kImagePlaceholder, understanding_tokens) + block(kJanusPad, generation_tokens) +
                          std::string(instruction));
}

std::vector<int32_t> expand_image_placeholders(const std::vector<int32_t>& ids, const Tokenizer& tok,
                                               int num_image_tokens) {
  if (num_image_tokens <= 0) throw UsageError(cat("num_image_tokens must be positive, got ", num_image_tokens));
  const int32_t placeholder = tok.require_token_id(kImagePlaceholder);
  const int32_t begin = tok.require_token_id(kBeginOfImage);
  const int32_t end = tok.require_token_id(kEndOfImage);
  std::vector<int32_t> out;
  out.reserve(ids.size());
  for (int32_t id : ids) {
    if (id != placeholder) {
      out.push_back(id);
      continue;
    }
    out.push_back(begin);
    out.insert(out.end(), static_cast<size_t>(num_image_tokens), placeholder);
    out.push_back(end);
  }
  return out;
}

}  // namespace januskit::text
