// `januskit chat`: an interactive multi-turn session with an R1-style model. Each turn is rendered
// with the R1 template (earlier answers keep only their text after </think>, as DeepSeek's template
// does) and continues the same KV cache, so only the new part of the conversation is prefilled.
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
};

// Reads user turns from `in` (one line each; "/reset" clears the history, "/exit" or end of input
// stops), streams reasoning to `reasoning` and answers to `answer`. Returns the number of turns.
int64_t run_chat(const ChatOptions& options, std::istream& in, std::ostream& answer, std::ostream& reasoning,
                 bool interactive);

}  // namespace januskit::pipelines
