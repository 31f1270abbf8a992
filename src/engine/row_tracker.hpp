// The host side of a decode loop, shared by the eager and CUDA-graph paths of TextGenerator and by
// the request scheduler: per-row outputs, streamed text, stop conditions (EOS ids, stop strings,
// the token budget) and the token hook. It sees chosen tokens only; where they come from is the
// caller's business.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/stop_strings.hpp"
#include "engine/text_generator.hpp"
#include "text/tokenizer.hpp"

namespace januskit::engine {

class RowTracker {
 public:
  // References to options, on_token and hook are kept: they must outlive the tracker.
  RowTracker(int64_t rows, const GenerationOptions& options, const text::Tokenizer* tokenizer,
             const TokenCallback& on_token, TokenHook* hook);

  int64_t rows() const { return static_cast<int64_t>(state_.size()); }
  int64_t active() const { return active_; }
  bool row_active(int64_t row) const { return state_[static_cast<size_t>(row)].active; }
  // Tokens row b has produced so far.
  const std::vector<int32_t>& tokens(int64_t row) const { return state_[static_cast<size_t>(row)].out.tokens; }

  // Takes one step's token of every row (chosen[b]; entries of stopped rows are ignored); a hook may
  // replace tokens of running rows, in place. Returns whether it replaced any.
  bool take(std::vector<int64_t>& chosen);
  // The cache is full: the rows still running stop there.
  void context_full();
  // The outputs (text cut at stop strings) and the stats with the generated tokens added.
  GenerationResult finish(GenerationStats stats);

 private:
  struct RowState {
    SequenceOutput out;
    bool active = true;
    std::optional<text::StreamingDecoder> decoder;
    std::optional<StopStringFilter> filter;
  };
  bool is_eos(int32_t t) const;

  const GenerationOptions& options_;
  const TokenCallback& on_token_;
  TokenHook* hook_;
  std::vector<RowState> state_;
  int64_t budget_;
  int64_t active_ = 0;
};

}  // namespace januskit::engine
