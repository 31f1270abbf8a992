#include "text/reasoning_stream.hpp"

namespace januskit::text {
namespace {
constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

// Length of the longest suffix of `s` that is a proper prefix of `tag`.
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n) {
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}
// `s` without its trailing line breaks.
std::string_view trailing_text(std::string_view s) {
  const size_t last = s.find_last_not_of("\r\n");
  return last == std::string_view::npos ? std::string_view() : s.substr(0, last + 1);
}
}  // namespace

ReasoningStream::ReasoningStream(bool starts_in_reasoning) : in_reasoning_(starts_in_reasoning) {}

ReasoningStream::ReasoningStream(ReasoningStart start)
    : in_reasoning_(start == ReasoningStart::inside), may_open_(start == ReasoningStart::may_open) {}

ReasoningStream::Pieces ReasoningStream::push(std::string_view text) {
  pending_ += text;
  return release(false);
}

ReasoningStream::Pieces ReasoningStream::finish() { return release(true); }

ReasoningStream::Pieces ReasoningStream::release(bool final_flush) {
  Pieces out;
  while (!pending_.empty()) {
    if (may_open_) {
      // Decide on the first non-whitespace text: "<think>" opens the reasoning, anything else is answer.
      size_t first = pending_.find_first_not_of(" \t\r\n");
      if (first == std::string::npos && !final_flush) break;
      std::string_view head = first == std::string::npos ? std::string_view() : std::string_view(pending_).substr(first);
      if (!final_flush && head.size() < kOpen.size() && std::string_view(kOpen).starts_with(head)) break;
      may_open_ = false;
      if (head.starts_with(kOpen)) {
        pending_.erase(0, first + kOpen.size());
        in_reasoning_ = true;
        reasoning_started_ = true;
      }
      continue;
    }
    if (in_reasoning_) {
      if (!reasoning_started_) {
        // Some distills repeat the opening tag the prompt already holds: drop it.
        if (pending_.starts_with(kOpen)) {
          pending_.erase(0, kOpen.size());
          continue;
        }
        if (!final_flush && std::string_view(kOpen).starts_with(pending_)) break;  // may become "<think>"
        reasoning_started_ = true;
      }
      if (!reasoning_text_) {
        // Line breaks that open the reasoning are not shown, as split_reasoning trims them.
        size_t text = pending_.find_first_not_of("\r\n");
        pending_.erase(0, text == std::string::npos ? pending_.size() : text);
        if (pending_.empty()) break;
      }
      // Line breaks before "</think>" (or the end) are not shown either: they are held back until
      // text follows them.
      size_t close = pending_.find(kClose);
      if (close != std::string::npos) {
        out.reasoning += trailing_text(std::string_view(pending_).substr(0, close));
        pending_.erase(0, close + kClose.size());
        reasoning_text_ = true;
        in_reasoning_ = false;
        continue;
      }
      const size_t hold = final_flush ? 0 : partial_tag_suffix(pending_, kClose);
      const size_t ready = trailing_text(std::string_view(pending_).substr(0, pending_.size() - hold)).size();
      out.reasoning += pending_.substr(0, ready);
      pending_.erase(0, final_flush ? pending_.size() : ready);
      reasoning_text_ = reasoning_text_ || !out.reasoning.empty();
      break;
    }
    if (!answer_started_) {
      size_t first = pending_.find_first_not_of("\r\n");
      if (first == std::string::npos) {
        pending_.clear();
        break;
      }
      pending_.erase(0, first);
      answer_started_ = true;
    }
    out.answer += pending_;
    pending_.clear();
  }
  return out;
}

}  // namespace januskit::text
