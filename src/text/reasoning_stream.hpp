// Splits streamed R1 output into reasoning and answer while it arrives, as split_reasoning does at
// the end. The R1 prompt ends with "<think>\n", so output starts inside the reasoning (Qwen3 and
// R1-0528 open the block themselves: ReasoningStart::may_open); "</think>" ends it (the tag itself is shown in
// neither part) and the newlines right after it are dropped. Text that might be the start of the tag
// is held back until it is decided, so a terminal never shows "</thi" then takes it back.
#pragma once

#include <string>
#include <string_view>

#include "text/reasoning.hpp"

namespace januskit::text {

class ReasoningStream {
 public:
  // starts_in_reasoning: false for raw prompts without the R1 template.
  explicit ReasoningStream(bool starts_in_reasoning = true);
  // may_open: a leading "<think>" (after whitespace) opens the reasoning; anything else is answer.
  explicit ReasoningStream(ReasoningStart start);

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
  bool may_open_ = false;
  bool reasoning_text_ = false;     // some reasoning text was released           // still waiting to see whether the output opens <think>
  bool reasoning_started_ = false;  // a leading "<think>" is dropped only before any reasoning text
  bool answer_started_ = false;  // leading newlines of the answer are dropped until text starts
  std::string pending_;
};

}  // namespace januskit::text
