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
}  // namespace

ReasoningStream::ReasoningStream(bool starts_in_reasoning) : in_reasoning_(starts_in_reasoning) {}

ReasoningStream::Pieces ReasoningStream::push(std::string_view text) {
  pending_ += text;
  return release(false);
}

ReasoningStream::Pieces ReasoningStream::finish() { return release(true); }

ReasoningStream::Pieces ReasoningStream::release(bool final_flush) {
  Pieces out;
  while (!pending_.empty()) {
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
      size_t close = pending_.find(kClose);
      if (close != std::string::npos) {
        out.reasoning += pending_.substr(0, close);
        pending_.erase(0, close + kClose.size());
        in_reasoning_ = false;
        continue;
      }
      size_t hold = final_flush ? 0 : partial_tag_suffix(pending_, kClose);
      out.reasoning += pending_.substr(0, pending_.size() - hold);
      pending_.erase(0, pending_.size() - hold);
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
