// Splits streamed R1 output into reasoning and answer while it arrives. The R1 prompt ends with
// "<think>\n", so output starts inside the reasoning; "</think>" ends it (the tag itself is shown in
// neither part) and the newlines right after it are dropped. Text that might be the start of the tag
// is held back until it is decided, so a terminal never shows "</thi" then takes it back.
#pragma once

#include <string>
#include <string_view>

namespace januskit::text {

class ReasoningStream {
 public:
  // starts_in_reasoning: false for raw prompts without the R1 template.
  explicit ReasoningStream(bool starts_in_reasoning = true);

  struct Pieces {
    std::string reasoning;  // new reasoning text to show
    std::string answer;     // new answer text to show
  };
  Pieces push(std::string_view text);
  Pieces finish();  // releases anything held back

  bool in_reasoning() const { return in_reasoning_; }

 private:
  Pieces release(bool final_flush);

  bool in_reasoning_;
  bool reasoning_started_ = false;  // a leading "<think>" is dropped only before any reasoning text
  bool answer_started_ = false;  // leading newlines of the answer are dropped until text starts
  std::string pending_;
};

}  // namespace januskit::text
