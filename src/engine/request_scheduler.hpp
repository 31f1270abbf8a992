// Continuous batching: requests that arrive at different times share one decode batch on one loaded
// model (vLLM / llama-server style), at step granularity.
//
// One thread (run()) owns the model and a static KV cache of `max_batch` rows. Between two decode
// steps it admits waiting requests (a request with n choices prefills its prompt once and takes n
// rows, placed so that they end at the cache's current slot), samples every running row with its
// own request's sampler, retires finished rows (their slots go to the next request) and packs the
// running rows to the front, so a step computes only rows that run. Each request keeps the seed rule
// of TextGenerator (choice j draws uniform(seed + j, k) at its k-th token), and a row's keys and
// values do not depend on where in the cache it sits, so a request's tokens do not depend on what
// else is in the batch.
//
// The cache is shared in time: rows use the slot counter together, so a longer newcomer moves the
// running rows later (KVCache::shift_slots), and when the end of the cache is near the rows are
// moved back to the front; a request waits while neither makes room for its whole budget.
//
// The scheduler knows token ids only; prompts, chat formats and HTTP live above it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/text_generator.hpp"

namespace januskit::engine {

// The model's log-probabilities for one generated token (OpenAI's logprobs).
struct TokenLogprobs {
  float logprob = 0;                                // of the token produced
  std::vector<std::pair<int32_t, float>> top;       // the most likely tokens, best first
};

struct ScheduledRequest {
  std::vector<int32_t> prompt;
  int64_t choices = 1;           // rows sampled from the prompt; choice j draws with options.sampling.seed + j
  GenerationOptions options;     // max_new_tokens is capped to what the cache can hold
  std::shared_ptr<TokenHook> hook;  // optional; rows are the choices 0..choices-1
  int64_t top_logprobs = -1;     // >= 0: each token comes with its logprob and this many alternatives
  // Called on the scheduler's thread, in token order; event.row is the choice.
  std::function<void(const TokenEvent&, const TokenLogprobs*)> on_token;
  // Called once, on the scheduler's thread: the outputs (rows = choices), or an error message.
  std::function<void(GenerationResult)> on_done;
  std::function<void(const std::string& error)> on_error;
  // Polled between steps (a client that went away): true retires the request's rows at once.
  std::function<bool()> cancelled;
};

class RequestScheduler {
 public:
  // `capacity`: cache slots shared by the running rows (at most the model's context).
  RequestScheduler(LanguageModel& model, const text::Tokenizer* tokenizer, int64_t max_batch, int64_t capacity);
  ~RequestScheduler();
  RequestScheduler(const RequestScheduler&) = delete;
  RequestScheduler& operator=(const RequestScheduler&) = delete;

  int64_t max_batch() const { return max_batch_; }
  int64_t capacity() const { return capacity_; }

  // Thread-safe. Throws Error for a request that can never run (empty prompt, more choices than
  // rows, a prompt that does not fit the cache); otherwise queues it.
  void submit(ScheduledRequest request);
  // The loop; returns after stop(). Requests still queued or running get on_error.
  void run();
  // Thread-safe: run() returns after the current step.
  void stop();

  // Rows running and requests waiting, for logs and /health.
  struct Load {
    int64_t running_rows = 0;
    int64_t waiting_requests = 0;
  };
  Load load() const;

 private:
  struct Job;
  bool admit(Job& job);
  bool fits(const Job& job, int64_t shift) const;
  void step();
  void sample_jobs(const at::Tensor& logits, std::vector<int64_t>& next);
  void retire_finished(std::vector<int64_t>& next);
  void fail_running(const std::string& message);

  LanguageModel& model_;
  const text::Tokenizer* tokenizer_;
  const int64_t max_batch_;
  const int64_t capacity_;
  KVCache cache_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> waiting_;
  bool stopping_ = false;

  // Owned by run()'s thread.
  std::vector<std::shared_ptr<Job>> running_;
  struct RowOwner {
    Job* job = nullptr;
    int64_t choice = 0;
  };
  std::vector<RowOwner> owners_;  // cache rows [0, owners_.size()) run
  at::Tensor hidden_;             // [running rows, D]: the last hidden state of each running row
  int64_t running_rows_ = 0;      // mirrors owners_.size() for load()
};

}  // namespace januskit::engine
