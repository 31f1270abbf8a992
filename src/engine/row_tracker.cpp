#include "engine/row_tracker.hpp"

#include <algorithm>

namespace januskit::engine {

RowTracker::RowTracker(int64_t rows, const GenerationOptions& options, const text::Tokenizer* tokenizer,
                       const TokenCallback& on_token, TokenHook* hook)
    : options_(options), on_token_(on_token), hook_(hook), state_(static_cast<size_t>(rows)),
      budget_(std::max<int64_t>(options.max_new_tokens, 0)) {
  for (auto& s : state_) {
    if (tokenizer != nullptr) {
      s.decoder.emplace(*tokenizer, options.skip_special_in_text);
      s.filter.emplace(options.stop_strings);
    }
  }
  active_ = budget_ > 0 ? rows : 0;
  if (active_ == 0) {
    for (auto& s : state_) s.out.reason = StopReason::max_tokens;
  }
}

bool RowTracker::take(std::vector<int64_t>& chosen) {
  bool replaced = false;
  for (size_t b = 0; b < state_.size(); ++b) {
    RowState& s = state_[b];
    if (!s.active) continue;
    auto token = static_cast<int32_t>(chosen[b]);
    bool forced = false;
    if (hook_ != nullptr) {
      if (auto replacement = hook_->override_token(static_cast<int64_t>(b), token, s.out.tokens)) {
        forced = *replacement != token;
        token = *replacement;
      }
    }
    replaced = replaced || forced;
    chosen[b] = token;
    s.out.tokens.push_back(token);
    TokenEvent event{static_cast<int64_t>(b), token, {}, forced, static_cast<int64_t>(s.out.tokens.size()) - 1};
    // EOS ends the row without becoming text; every other token (specials such as </think> too,
    // unless skip_special_in_text) is decoded.
    if (s.decoder && !is_eos(token)) event.text = s.filter->push(s.decoder->push(token));
    if (is_eos(token)) {
      s.out.reason = StopReason::eos;
    } else if (s.filter && s.filter->stopped()) {
      s.out.reason = StopReason::stop_string;
    } else if (static_cast<int64_t>(s.out.tokens.size()) >= budget_) {
      s.out.reason = StopReason::max_tokens;
    }
    if (s.out.reason != StopReason::none) {
      s.active = false;
      --active_;
      if (s.decoder && s.out.reason != StopReason::stop_string) event.text += s.filter->push(s.decoder->finish()) + s.filter->flush();
    }
    if (on_token_) on_token_(event);
  }
  return replaced;
}

void RowTracker::context_full() {
  for (auto& s : state_) {
    if (!s.active) continue;
    s.out.reason = StopReason::context_full;
    s.active = false;
  }
  active_ = 0;
}

GenerationResult RowTracker::finish(GenerationStats stats) {
  GenerationResult result;
  result.rows.reserve(state_.size());
  for (auto& s : state_) {
    if (s.filter && s.out.reason == StopReason::context_full) {
      s.filter->push(s.decoder->finish());
      s.filter->flush();
    }
    if (s.filter) s.out.text = s.filter->text();
    stats.generated_tokens += static_cast<int64_t>(s.out.tokens.size());
    result.rows.push_back(std::move(s.out));
  }
  result.stats = stats;
  return result;
}

bool RowTracker::is_eos(int32_t t) const {
  return std::find(options_.eos_ids.begin(), options_.eos_ids.end(), t) != options_.eos_ids.end();
}

}  // namespace januskit::engine
