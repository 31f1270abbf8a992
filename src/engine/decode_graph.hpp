// The device loop, the CUDA fast path of the decode loops (TextGenerator, ImageGenerator): one step — feed the last
// sampled tokens, run the model's decode_step(), compute logits, sample the next tokens on the device
// (nn::sample_fused), advance the counters — with every value that changes from step to step (the
// cache slot, the rotary positions, the sampling step) kept in device memory and advanced there.
// Shapes never change, so the step is captured once as a CUDA graph and then replayed: one launch
// per step instead of hundreds, and no host synchronisation at all; the host reads the tokens back
// only when it needs them (the generators copy a chunk of steps at a time to pinned memory).
//
// Lifecycle: start() after a prefill (samples step 0 from the prefill's last hidden states), then
// step() once per further token: the first step() runs eagerly (it warms cuBLAS up and allocates the
// workspaces outside the capture), the second captures the graph and replays it, later ones replay.
// A DecodeGraph can be start()ed again for another generation on the same cache and sampler (after a
// new prefill): the graph captured before is replayed, since every buffer it reads stayed in place.
// Callers run all of it (the prefill too) inside a DecodeStreamGuard.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "engine/language_model.hpp"
#include "engine/sampler.hpp"

namespace januskit::engine {

// Which decode loop the generators run.
enum class DecodeLoop {
  automatic,  // the device loop on CUDA for models with a decode step, the eager loop otherwise
  eager,      // the LibTorch loop: forward() every step, the tokens read back every step
  device,     // the device loop on any device. On the CPU it runs the kernels' LibTorch twins step by
              // step (no graph): the loop's own logic can then be tested on machines without a GPU
};

// True when this build has CUDA, the model sits on a CUDA device and implements decode_step().
bool fast_decode_available(const LanguageModel& model);
// Whether a generator runs the device loop for `loop` on `model` (throws for `device` on a model
// without a decode step).
bool use_device_loop(DecodeLoop loop, const LanguageModel& model);

// Rows are padded up to these batch sizes (powers of two), so that a captured graph serves every batch
// of its bucket.
int64_t batch_bucket(int64_t rows);

// Runs the enclosed fast-path work on the decode stream of `device` — one stream per device, since
// graphs cannot be captured on the default stream and the buffers a graph reads should live on the
// stream that uses them — ordered after the work already queued on the caller's stream; on exit the
// caller's stream waits for the decode stream. A no-op for CPU devices and in CPU builds.
class DecodeStreamGuard {
 public:
  explicit DecodeStreamGuard(const c10::Device& device);
  ~DecodeStreamGuard();
  DecodeStreamGuard(const DecodeStreamGuard&) = delete;
  DecodeStreamGuard& operator=(const DecodeStreamGuard&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class DecodeGraph {
 public:
  struct Spec {
    int64_t samples = 0;  // N tokens sampled per step (model rows R = N, or 2N with CFG)
    // [N] int64 tokens -> [R, 1, D] input embeddings of the next step.
    std::function<at::Tensor(const at::Tensor& tokens)> embed;
    // [R, D] final hidden states -> [R, V] f32 logits.
    std::function<at::Tensor(const at::Tensor& hidden)> logits;
    std::optional<std::pair<double, CfgLayout>> cfg;  // mix 2N logits rows into N
    int64_t vocab_limit = 0;    // > 0: ids >= vocab_limit are never drawn
    int64_t history_steps = 0;  // sampled tokens kept on the device: history()[step, n]
  };

  DecodeGraph(LanguageModel& model, KVCache& cache, Sampler& sampler, Spec spec);
  ~DecodeGraph();
  DecodeGraph(const DecodeGraph&) = delete;
  DecodeGraph& operator=(const DecodeGraph&) = delete;

  // After a prefill that left the cache at length L: slot = L, positions = L − row start, step 0
  // sampled from the prefill's last hidden states [R, D].
  void start(const at::Tensor& last_hidden);
  // Enqueues the next step; never synchronises with the host.
  void step();

  // Queues an asynchronous copy of history rows [from, to) into pinned host buffer `buffer` (0 or 1;
  // the generators alternate, so one chunk can be read while the next is copied). wait_history()
  // blocks until that copy has landed and returns the rows, [to − from, N] int64 on the CPU (valid
  // until the buffer is used again).
  void fetch_history(int64_t from, int64_t to, int buffer);
  at::Tensor wait_history(int buffer);

  at::Tensor& tokens() { return tokens_; }               // [N] int64: the last sampled tokens
  const at::Tensor& history() const { return history_; }  // [history_steps, N] int64
  int64_t steps_started() const { return steps_; }       // samples enqueued since start(), step 0 included
  const Spec& spec() const { return spec_; }
  bool captured() const;

 private:
  void body();

  LanguageModel& model_;
  KVCache& cache_;
  Sampler& sampler_;
  Spec spec_;
  at::Tensor tokens_;    // [N] int64
  at::Tensor counters_;  // [2 + R] int64: slot, step, positions of the R rows
  at::Tensor history_;   // [history_steps, N] int64
  DecodeInputs inputs_;  // views of counters_
  at::Tensor step_;      // view of counters_
  int64_t steps_ = 0;
  bool warmed_up_ = false;
  at::Tensor host_[2];         // pinned [rows, N] read-back buffers
  int64_t host_rows_[2] = {0, 0};
  struct Cuda;           // the graph and the stream (CUDA builds only)
  std::unique_ptr<Cuda> cuda_;
};

}  // namespace januskit::engine
