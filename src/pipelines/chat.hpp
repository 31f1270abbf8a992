// `januskit chat`: an interactive multi-turn session with a reasoning model. Each turn is rendered
// in the model's prompt format (text/chat_format.hpp; earlier answers lose their reasoning, as the
// vendors' templates drop it) and continues the same KV cache, so only the part of the
// conversation after the longest common prefix is prefilled.
#pragma once

#include <iosfwd>
#include <string_view>

#include "pipelines/ask.hpp"

namespace januskit::pipelines {

struct ChatOptions {
  ModelRequest model;
  std::string system;
  int64_t max_tokens = 8192;       // per answer
  int64_t context = 0;             // cache size in tokens; 0 = the model's context (capped at 32768)
  engine::SamplingOptions sampling = AskOptions::default_r1_sampling();
  std::optional<uint64_t> seed;
  bool show_reasoning = true;
  std::string chat_format = "auto";  // --chat-format
  bool thinking = true;              // false: --no-think
  std::optional<SamplingGiven> folder_sampling;  // set: settings not given come from generation_config.json
};

// Reads user turns from `in` (one line each; "/reset" clears the history, "/exit" or end of input
// stops), streams reasoning to `reasoning` and answers to `answer`. Returns the number of turns.
int64_t run_chat(const ChatOptions& options, std::istream& in, std::ostream& answer, std::ostream& reasoning,
                 bool interactive);

}  // namespace januskit::pipelines
