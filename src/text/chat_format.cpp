#include "text/chat_format.hpp"

#include <algorithm>
#include <array>

#include "core/error.hpp"

namespace januskit::text {
namespace {

constexpr std::string_view kImStart = "<|im_start|>";
constexpr std::string_view kImEnd = "<|im_end|>";

struct FormatName {
  ChatFormat format;
  std::string_view name;
};
constexpr std::array<FormatName, 5> kFormats = {{{ChatFormat::r1, "r1"},
                                                 {ChatFormat::r1_0528, "r1-0528"},
                                                 {ChatFormat::chatml_think, "chatml-think"},
                                                 {ChatFormat::qwen3, "qwen3"},
                                                 {ChatFormat::janus, "janus"}}};

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// Python's str.lstrip("\n"), rstrip("\n"), strip("\n").
std::string_view lstrip_newlines(std::string_view s) {
  size_t i = s.find_first_not_of('\n');
  return i == std::string_view::npos ? std::string_view() : s.substr(i);
}
std::string_view rstrip_newlines(std::string_view s) {
  size_t i = s.find_last_not_of('\n');
  return i == std::string_view::npos ? std::string_view() : s.substr(0, i + 1);
}
std::string_view strip_newlines(std::string_view s) { return rstrip_newlines(lstrip_newlines(s)); }

// s.split(sep)[-1] and s.split(sep)[0].
std::string_view after_last(std::string_view s, std::string_view sep) {
  size_t i = s.rfind(sep);
  return i == std::string_view::npos ? s : s.substr(i + sep.size());
}
std::string_view before_first(std::string_view s, std::string_view sep) {
  size_t i = s.find(sep);
  return i == std::string_view::npos ? s : s.substr(0, i);
}

void check_roles(const std::vector<Message>& messages) {
  if (messages.empty()) throw UsageError("the conversation has no messages");
  for (const Message& m : messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant") {
      throw UsageError(cat("unknown chat role \"", m.role, "\" (expected system, user or assistant)"));
    }
  }
}

// Qwen3's soft switch: the latest user message holding "/think" or "/no_think" decides, and within
// it the last of the two (the model card: "the model follows the most recent instruction").
std::optional<bool> soft_thinking_switch(const std::vector<Message>& messages) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->role != "user") continue;
    size_t on = it->content.rfind("/think"), off = it->content.rfind("/no_think");
    if (on == std::string::npos && off == std::string::npos) continue;
    if (off == std::string::npos) return true;
    if (on == std::string::npos) return false;
    return on > off;
  }
  return std::nullopt;
}

std::string render_r1_0528(const std::vector<Message>& messages, bool thinking, std::string_view bos) {
  std::string system;
  bool first_system = true;
  for (const Message& m : messages) {
    if (m.role != "system") continue;
    if (!first_system) system += "\n\n";
    system += m.content;
    first_system = false;
  }
  std::string out = std::string(bos) + system;
  bool last_is_user = false;  // system messages leave it as it is, as the template's is_last_user
  for (const Message& m : messages) {
    if (m.role == "user") {
      out.append(kR1User).append(m.content).append(kR1Assistant);
      last_is_user = true;
    } else if (m.role == "assistant") {
      out.append(after_last(m.content, kThinkClose)).append(kR1Eos);
      last_is_user = false;
    }
  }
  if (!last_is_user) out.append(kR1Assistant);
  if (!thinking) out.append(kEmptyThinkBlock);
  return out;
}

void append_chatml_turn(std::string& out, std::string_view role, std::string_view content) {
  out.append(kImStart).append(role).append("\n").append(content).append(kImEnd).append("\n");
}

std::string render_chatml_think(const std::vector<Message>& messages, bool thinking) {
  std::string out;
  if (messages.front().role == "system") append_chatml_turn(out, "system", messages.front().content);
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i > 0)) {
      append_chatml_turn(out, m.role, m.content);
    } else if (m.role == "assistant") {
      std::string_view content = m.content;
      if (i + 1 != messages.size()) content = lstrip_newlines(after_last(content, kThinkClose));
      append_chatml_turn(out, "assistant", content);
    }
  }
  out.append(kImStart).append("assistant\n").append(kThinkOpen).append("\n");
  if (!thinking) out.append(kThinkClose);
  return out;
}

// The last user message that is not a tool response (the template's last_query_index).
size_t last_query_index(const std::vector<Message>& messages) {
  for (size_t i = messages.size(); i-- > 0;) {
    const std::string& c = messages[i].content;
    const bool tool_response = c.starts_with("<tool_response>") && c.ends_with("</tool_response>");
    if (messages[i].role == "user" && !tool_response) return i;
  }
  return messages.size() - 1;
}

std::string render_qwen3(const std::vector<Message>& messages, bool thinking) {
  std::string out;
  if (messages.front().role == "system") append_chatml_turn(out, "system", messages.front().content);
  const size_t query = last_query_index(messages);
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i > 0)) {
      append_chatml_turn(out, m.role, m.content);
      continue;
    }
    if (m.role != "assistant") continue;
    std::string_view content = m.content, reasoning;
    if (m.reasoning_content) {
      reasoning = *m.reasoning_content;
    } else if (contains(content, kThinkClose)) {
      reasoning = lstrip_newlines(after_last(rstrip_newlines(before_first(content, kThinkClose)), kThinkOpen));
      content = lstrip_newlines(after_last(content, kThinkClose));
    }
    out.append(kImStart).append("assistant\n");
    // Only the turns after the last user query keep their reasoning (the template drops the rest).
    if (i > query && (i + 1 == messages.size() || !reasoning.empty())) {
      out.append(kThinkOpen).append("\n").append(strip_newlines(reasoning)).append("\n").append(kThinkClose);
      out.append("\n\n").append(lstrip_newlines(content));
    } else {
      out.append(content);
    }
    out.append(kImEnd).append("\n");
  }
  out.append(kImStart).append("assistant\n");
  if (!thinking) out.append(kEmptyThinkBlock);
  return out;
}

ReasoningStart start_of(ChatFormat format, bool thinking) {
  if (format == ChatFormat::janus) return ReasoningStart::none;
  const bool prompt_opens = format == ChatFormat::r1 || format == ChatFormat::chatml_think;
  return thinking && prompt_opens ? ReasoningStart::inside : ReasoningStart::may_open;
}

}  // namespace

std::string_view chat_format_name(ChatFormat format) {
  for (const auto& f : kFormats) {
    if (f.format == format) return f.name;
  }
  return "?";
}

std::string_view chat_format_choices() { return "auto|r1|r1-0528|chatml-think|qwen3|janus"; }

ChatFormat parse_chat_format(std::string_view name) {
  for (const auto& f : kFormats) {
    if (f.name == name) return f.format;
  }
  throw UsageError(cat("--chat-format: unknown format \"", name, "\" (expected ", chat_format_choices(), ")"));
}

std::string_view turn_end_text(ChatFormat format) {
  return format == ChatFormat::chatml_think || format == ChatFormat::qwen3 ? kImEnd : kR1Eos;
}

RenderedChat render_chat(const std::vector<Message>& messages, const ChatRequest& request) {
  check_roles(messages);
  RenderedChat r;
  r.thinking = request.thinking;
  if (request.format == ChatFormat::qwen3 && request.thinking) {
    // enable_thinking=false overrides the soft switches; with thinking on they decide.
    r.thinking = soft_thinking_switch(messages).value_or(true);
  }
  if (request.format == ChatFormat::janus && !request.thinking) {
    throw UsageError("--no-think: the janus format has no reasoning to switch off");
  }
  switch (request.format) {
    case ChatFormat::r1:
      r.text = render_r1(messages, /*add_generation_prompt=*/true, request.bos);
      if (!r.thinking) r.text.append(kThinkClose);
      break;
    case ChatFormat::r1_0528:
      r.text = render_r1_0528(messages, r.thinking, request.bos);
      break;
    case ChatFormat::chatml_think:
      r.text = render_chatml_think(messages, r.thinking);
      break;
    case ChatFormat::qwen3:
      r.text = render_qwen3(messages, r.thinking);
      break;
    case ChatFormat::janus:
      r.text = render_janus_chat(messages);
      break;
  }
  r.start = start_of(request.format, r.thinking);
  return r;
}

namespace {

bool is_janus_architecture(const std::vector<std::string>& architectures) {
  return std::any_of(architectures.begin(), architectures.end(), [](const std::string& a) {
    return a == "MultiModalityCausalLM" || a == "JanusForConditionalGeneration";
  });
}

// A template's generation prompt as its source spells it: "\n" inside a Jinja string literal is the
// two characters backslash and n.
bool has_literal(std::string_view tmpl, std::string_view before, std::string_view after) {
  return contains(tmpl, cat(before, "\\n", after)) || contains(tmpl, cat(before, "\n", after));
}

std::optional<ChatFormat> fingerprint(std::string_view t) {
  if (contains(t, kImStart)) {
    if (contains(t, "enable_thinking") && contains(t, "reasoning_content")) return ChatFormat::qwen3;
    if (has_literal(t, "<|im_start|>assistant", "<think>")) return ChatFormat::chatml_think;
    return std::nullopt;  // plain ChatML (Qwen2.5, …): not a reasoning format januskit knows
  }
  if (!contains(t, kR1User) || !contains(t, kR1Assistant)) return std::nullopt;
  // DeepSeek-V3.1's hybrid template writes "<｜Assistant｜></think>" for its non-thinking mode.
  if (contains(t, cat(kR1Assistant, kThinkClose))) return std::nullopt;
  if (contains(t, cat(kR1Assistant, kThinkOpen))) return ChatFormat::r1;
  // R1-0528 (and V3-0324): the user turn itself ends with <｜Assistant｜>, tracked as is_last_user.
  if (contains(t, "is_last_user")) return ChatFormat::r1_0528;
  return std::nullopt;
}

std::string first_line(std::string_view t) {
  std::string_view line = t.substr(0, std::min(t.find('\n'), size_t{60}));
  return std::string(line) + (line.size() < t.size() ? "…" : "");
}

}  // namespace

DetectedFormat detect_chat_format(const ChatFormatEvidence& e) {
  if (is_janus_architecture(e.architectures)) return {ChatFormat::janus, "config.json architectures: Janus"};
  if (e.chat_template) {
    if (auto f = fingerprint(*e.chat_template)) {
      return {*f, cat("the chat_template of ", e.template_file, " is the ", chat_format_name(*f), " template")};
    }
    throw Error(cat(e.template_file, ": the chat_template (\"", first_line(*e.chat_template),
                    "\") is not one januskit knows; pass --chat-format ",
                    chat_format_choices().substr(5), " to choose the prompt format"));
  }
  if (e.has_r1_role_tokens) {
    return {ChatFormat::r1, "no chat_template; the tokenizer has the R1 tokens <｜User｜> and <｜Assistant｜>"};
  }
  throw Error(cat(e.folder, ": no chat_template (tokenizer_config.json or chat_template.jinja) and no R1 role tokens; "
                            "pass --chat-format ",
                  chat_format_choices().substr(5), " to choose the prompt format"));
}

}  // namespace januskit::text
