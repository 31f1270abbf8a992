#include "engine/request_scheduler.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "engine/row_tracker.hpp"
#include "engine/sampler.hpp"

namespace januskit::engine {

// One request while it waits and runs.
struct RequestScheduler::Job {
  ScheduledRequest request;
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<RowTracker> tracker;
  TokenCallback tracker_callback;       // what the tracker calls: adds the logprobs of this step
  std::vector<int64_t> rows;            // cache row of each choice; -1 once the choice stopped
  int64_t end_slot = 0;                 // the slot its rows can reach at most (start + prompt + budget)
  int64_t step = 0;                     // tokens sampled per choice so far (the draw counter)
  at::Tensor step_logprobs;             // [choices, V] f32 on the CPU, when logprobs are asked for
  std::vector<TokenLogprobs> step_top;  // per choice: the alternatives of this step
  GenerationStats stats;
  Stopwatch clock;                      // since admission: the decode time
  bool finished = false;

  int64_t prompt_length() const { return static_cast<int64_t>(request.prompt.size()); }
  int64_t budget() const { return request.options.max_new_tokens; }
};

RequestScheduler::RequestScheduler(LanguageModel& model, const text::Tokenizer* tokenizer, int64_t max_batch,
                                   int64_t capacity)
    : model_(model), tokenizer_(tokenizer), max_batch_(max_batch),
      capacity_(std::min(capacity, model.max_positions())),
      cache_(model.make_cache(std::max<int64_t>(max_batch, 1), std::max<int64_t>(std::min(capacity, model.max_positions()), 2))) {
  if (max_batch < 1) throw UsageError("--max-batch must be at least 1");
  if (capacity < 2) throw UsageError("--ctx must be at least 2");
}

RequestScheduler::~RequestScheduler() = default;

void RequestScheduler::submit(ScheduledRequest request) {
  const int64_t p = static_cast<int64_t>(request.prompt.size());
  if (p == 0) throw Error("empty prompt: there is no token to continue from");
  for (int32_t id : request.prompt) {
    if (id < 0 || id >= model_.vocab_size()) {
      throw Error(cat("prompt token id ", id, " is outside the model's vocabulary of ", model_.vocab_size()));
    }
  }
  if (request.choices < 1 || request.choices > max_batch_) {
    throw Error(cat(request.choices, " choices asked for; this server runs at most ", max_batch_,
                    " rows at once (--max-batch)"));
  }
  if (p >= capacity_) {
    throw Error(cat("the prompt is ", p, " tokens but the context is ", capacity_, " (--ctx); shorten the prompt"));
  }
  if (!request.options.stop_strings.empty() && tokenizer_ == nullptr) throw Error("stop strings need the model's tokenizer");
  request.options.max_new_tokens = std::clamp<int64_t>(request.options.max_new_tokens, 1, capacity_ - p);
  auto job = std::make_shared<Job>();
  job->request = std::move(request);
  std::lock_guard lock(mutex_);
  if (stopping_) throw Error("the server is shutting down");
  waiting_.push_back(std::move(job));
  wake_.notify_all();
}

void RequestScheduler::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

RequestScheduler::Load RequestScheduler::load() const {
  std::lock_guard lock(mutex_);
  return {running_rows_, static_cast<int64_t>(waiting_.size())};
}

// Whether `job` fits once the running rows move by `shift` slots (< 0: towards the front): every
// running row's reach and the newcomer's must stay inside the cache.
bool RequestScheduler::fits(const Job& job, int64_t shift) const {
  const int64_t length = cache_.length() + shift;
  const int64_t grow = std::max<int64_t>(0, job.prompt_length() - length);  // a longer prompt moves them later
  for (const auto& r : running_) {
    if (r->end_slot + shift + grow > capacity_) return false;
  }
  return length + grow + job.budget() <= capacity_;
}

bool RequestScheduler::admit(Job& job) {
  const int64_t rows_now = static_cast<int64_t>(owners_.size());
  if (rows_now + job.request.choices > max_batch_) return false;
  if (rows_now == 0) cache_.truncate(0);
  if (!fits(job, 0)) {
    // Move the running rows to the front of the cache, if that makes room.
    int64_t first = cache_.length();
    for (int64_t b = 0; b < rows_now; ++b) first = std::min(first, cache_.row_starts()[static_cast<size_t>(b)]);
    if (first == 0 || !fits(job, -first)) return false;
    cache_.shift_slots(-first, rows_now);
    for (auto& r : running_) r->end_slot -= first;
  }
  const int64_t grow = std::max<int64_t>(0, job.prompt_length() - cache_.length());
  if (grow > 0) {
    cache_.shift_slots(grow, rows_now);
    for (auto& r : running_) r->end_slot += grow;
  }

  // Prefill once for all choices, in a cache of its own, then place the rows at the shared slot.
  const ScheduledRequest& q = job.request;
  Stopwatch prefill_clock;
  KVCache single = model_.make_cache(1, job.prompt_length());
  at::Tensor ids = at::tensor(std::vector<int64_t>(q.prompt.begin(), q.prompt.end()), at::kLong)
                       .view({1, job.prompt_length()})
                       .to(model_.device());
  ForwardBatch batch = single.plan(job.prompt_length());
  at::Tensor hidden = model_.forward(model_.embed_tokens(ids), batch, single).select(1, job.prompt_length() - 1);
  single.advance(batch);
  cache_.place_rows(rows_now, q.choices, single);

  job.sampler = std::make_unique<Sampler>(q.options.sampling, q.choices, model_.vocab_size(), model_.device());
  for (int64_t c = 0; c < q.choices; ++c) {
    job.sampler->observe_prompt(c, q.prompt);
    job.rows.push_back(rows_now + c);
    owners_.push_back({&job, c});
  }
  job.tracker_callback = [&job](const TokenEvent& e) {
    if (!job.request.on_token) return;
    if (!job.step_logprobs.defined()) return job.request.on_token(e, nullptr);
    TokenLogprobs lp = job.step_top[static_cast<size_t>(e.row)];
    lp.logprob = job.step_logprobs[e.row][e.token].item<float>();
    job.request.on_token(e, &lp);
  };
  job.tracker = std::make_unique<RowTracker>(q.choices, job.request.options, tokenizer_, job.tracker_callback,
                                             q.hook.get());
  job.end_slot = cache_.length() + job.budget();
  job.stats.prompt_tokens = job.prompt_length();
  job.stats.prefill_seconds = prefill_clock.seconds();
  job.clock.restart();
  at::Tensor rows = hidden.expand({q.choices, -1});
  hidden_ = hidden_.defined() && rows_now > 0 ? at::cat({hidden_, rows}, 0) : rows.contiguous();
  return true;
}

void RequestScheduler::sample_jobs(const at::Tensor& logits, std::vector<int64_t>& next) {
  for (auto& job_ptr : running_) {
    Job& job = *job_ptr;
    const ScheduledRequest& q = job.request;
    // Choices that stopped keep being sampled from a running choice's logits (and ignored), as in
    // TextGenerator, so the draws of the others stay where they are.
    int64_t any = 0;
    for (int64_t r : job.rows) {
      if (r >= 0) {
        any = r;
        break;
      }
    }
    std::vector<int64_t> index;
    for (int64_t r : job.rows) index.push_back(r >= 0 ? r : any);
    at::Tensor mine = logits.index_select(0, at::tensor(index, at::kLong).to(logits.device()));
    const int64_t limit = q.options.vocab_limit;
    if (limit > 0 && limit < mine.size(-1)) {
      mine.narrow(-1, limit, mine.size(-1) - limit).fill_(-std::numeric_limits<float>::infinity());
    }
    if (q.top_logprobs >= 0) {
      job.step_logprobs = mine.log_softmax(-1).to(at::kCPU);
      job.step_top.assign(static_cast<size_t>(q.choices), {});
      if (q.top_logprobs > 0) {
        auto [values, ids] = job.step_logprobs.topk(std::min<int64_t>(q.top_logprobs, mine.size(-1)), -1);
        for (int64_t c = 0; c < q.choices; ++c) {
          for (int64_t k = 0; k < values.size(1); ++k) {
            job.step_top[static_cast<size_t>(c)].top.emplace_back(static_cast<int32_t>(ids[c][k].item<int64_t>()),
                                                                  values[c][k].item<float>());
          }
        }
      }
    }
    at::Tensor sampled = job.sampler->sample(mine, job.step).to(at::kCPU);
    std::vector<int64_t> chosen(sampled.data_ptr<int64_t>(), sampled.data_ptr<int64_t>() + q.choices);
    job.tracker->take(chosen);
    job.sampler->observe(at::tensor(chosen, at::kLong).to(model_.device()));
    ++job.step;
    job.stats.steps = job.step;
    for (int64_t c = 0; c < q.choices; ++c) {
      int64_t& row = job.rows[static_cast<size_t>(c)];
      if (row < 0) continue;
      if (job.tracker->row_active(c)) {
        next[static_cast<size_t>(row)] = chosen[static_cast<size_t>(c)];
      } else {
        row = -1;
      }
    }
    if (job.tracker->active() == 0) job.finished = true;
  }
}

// Drops the rows that stopped: the last running row moves into each hole, so running rows stay
// [0, n) and a step computes nothing else.
void RequestScheduler::retire_finished(std::vector<int64_t>& next) {
  std::vector<int64_t> keep;
  for (size_t b = 0; b < owners_.size(); ++b) {
    const RowOwner& o = owners_[b];
    if (!o.job->finished && o.job->rows[static_cast<size_t>(o.choice)] == static_cast<int64_t>(b)) {
      keep.push_back(static_cast<int64_t>(b));
    }
  }
  for (auto it = running_.begin(); it != running_.end();) {
    Job& job = **it;
    if (!job.finished) {
      ++it;
      continue;
    }
    job.stats.decode_seconds = job.clock.seconds();
    GenerationResult result = job.tracker->finish(job.stats);
    if (job.request.on_done) job.request.on_done(std::move(result));
    it = running_.erase(it);
  }
  if (static_cast<int64_t>(keep.size()) == static_cast<int64_t>(owners_.size())) return;
  std::vector<RowOwner> owners;
  std::vector<int64_t> tokens;
  for (size_t i = 0; i < keep.size(); ++i) {
    const int64_t from = keep[i], to = static_cast<int64_t>(i);
    RowOwner o = owners_[static_cast<size_t>(from)];
    if (from != to) cache_.copy_row(to, from);
    o.job->rows[static_cast<size_t>(o.choice)] = to;
    owners.push_back(o);
    tokens.push_back(next[static_cast<size_t>(from)]);
  }
  if (!keep.empty()) hidden_ = hidden_.index_select(0, at::tensor(keep, at::kLong).to(hidden_.device()));
  owners_ = std::move(owners);
  next = std::move(tokens);
}

void RequestScheduler::step() {
  const int64_t n = static_cast<int64_t>(owners_.size());
  std::vector<int64_t> next(static_cast<size_t>(n), 0);
  sample_jobs(model_.lm_logits(hidden_), next);
  for (auto& job : running_) {
    if (!job->finished && job->request.cancelled && job->request.cancelled()) {
      job->finished = true;
      for (auto& r : job->rows) r = -1;
    }
  }
  retire_finished(next);
  const int64_t rows = static_cast<int64_t>(owners_.size());
  if (rows == 0) return;
  KVCache view = cache_.leading_rows(rows);
  ForwardBatch batch = view.plan(1);
  at::Tensor ids = at::tensor(next, at::kLong).view({rows, 1}).to(model_.device());
  hidden_ = model_.forward(model_.embed_tokens(ids), batch, view).select(1, 0);
  cache_.mark_written(1);
}

void RequestScheduler::fail_running(const std::string& message) {
  for (auto& job : running_) {
    if (job->request.on_error) job->request.on_error(message);
  }
  running_.clear();
  owners_.clear();
  hidden_ = at::Tensor();
}

void RequestScheduler::run() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !running_.empty(); });
      if (stopping_) break;
    }
    // First come, first served: a request that does not fit yet holds back the ones behind it. Only
    // this thread removes from the queue, so its front stays put while it is prefilled unlocked.
    while (true) {
      std::shared_ptr<Job> front;
      {
        std::lock_guard lock(mutex_);
        if (waiting_.empty()) break;
        front = waiting_.front();
      }
      bool admitted = false;
      try {
        admitted = admit(*front);
      } catch (const std::exception& e) {
        // The batch may be half changed (rows moved, placed): every running request fails with it.
        log::warn("request failed at admission: ", e.what());
        {
          std::lock_guard lock(mutex_);
          waiting_.pop_front();
        }
        if (front->request.on_error) front->request.on_error(e.what());
        fail_running(e.what());
        continue;
      }
      if (!admitted) break;
      std::lock_guard lock(mutex_);
      waiting_.pop_front();
      running_.push_back(std::move(front));
    }
    {
      std::lock_guard lock(mutex_);
      running_rows_ = static_cast<int64_t>(owners_.size());
    }
    if (running_.empty()) continue;
    try {
      step();
    } catch (const std::exception& e) {
      log::warn("decode step failed: ", e.what());
      fail_running(e.what());
    }
    std::lock_guard lock(mutex_);
    running_rows_ = static_cast<int64_t>(owners_.size());
  }
  const std::string bye = "the server is shutting down";
  fail_running(bye);
  std::deque<std::shared_ptr<Job>> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
  }
  for (auto& job : waiting) {
    if (job->request.on_error) job->request.on_error(bye);
  }
}

}  // namespace januskit::engine
