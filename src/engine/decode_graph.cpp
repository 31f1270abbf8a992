#include "engine/decode_graph.hpp"

#include <ATen/ATen.h>

#include "core/error.hpp"

#ifdef JANUSKIT_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <map>
#include <mutex>
#endif

namespace januskit::engine {

bool fast_decode_available(const LanguageModel& model) {
#ifdef JANUSKIT_HAVE_CUDA
  return model.device().is_cuda() && model.has_decode_step();
#else
  (void)model;
  return false;
#endif
}

bool use_device_loop(DecodeLoop loop, const LanguageModel& model) {
  switch (loop) {
    case DecodeLoop::automatic: return fast_decode_available(model);
    case DecodeLoop::eager: return false;
    case DecodeLoop::device:
      if (!model.has_decode_step()) throw Error("the device decode loop needs a model with a decode step");
      return true;
  }
  return false;
}

int64_t batch_bucket(int64_t rows) {
  int64_t bucket = 1;
  while (bucket < rows) bucket *= 2;
  return bucket;
}

#ifdef JANUSKIT_HAVE_CUDA

namespace {

// One stream per device for all fast-path work, so that buffers allocated for it (caches, graphs'
// inputs) are used on the stream they were allocated on.
c10::cuda::CUDAStream decode_stream(c10::DeviceIndex device) {
  static std::mutex mutex;
  static std::map<c10::DeviceIndex, c10::cuda::CUDAStream> streams;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = streams.find(device);
  if (it == streams.end()) it = streams.emplace(device, c10::cuda::getStreamFromPool(false, device)).first;
  return it->second;
}

}  // namespace

struct DecodeStreamGuard::Impl {
  Impl(c10::cuda::CUDAStream o, c10::cuda::CUDAStream d) : original(o), decode(d) {}
  c10::cuda::CUDAStream original, decode;
  std::optional<c10::cuda::CUDAStreamGuard> guard;
};

DecodeStreamGuard::DecodeStreamGuard(const c10::Device& device) {
  if (!device.is_cuda()) return;
  const c10::DeviceIndex index = device.has_index() ? device.index() : c10::cuda::current_device();
  impl_ = std::make_unique<Impl>(c10::cuda::getCurrentCUDAStream(index), decode_stream(index));
  at::cuda::CUDAEvent ready;
  ready.record(impl_->original);
  ready.block(impl_->decode);
  impl_->guard.emplace(impl_->decode);
}

DecodeStreamGuard::~DecodeStreamGuard() {
  if (!impl_) return;
  impl_->guard.reset();
  at::cuda::CUDAEvent done;
  done.record(impl_->decode);
  done.block(impl_->original);
}

struct DecodeGraph::Cuda {
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  at::cuda::CUDAEvent copied[2];
};

#else

struct DecodeStreamGuard::Impl {};
DecodeStreamGuard::DecodeStreamGuard(const c10::Device&) {}
DecodeStreamGuard::~DecodeStreamGuard() = default;
struct DecodeGraph::Cuda {};

#endif

DecodeGraph::DecodeGraph(LanguageModel& model, KVCache& cache, Sampler& sampler, Spec spec)
    : model_(model), cache_(cache), sampler_(sampler), spec_(std::move(spec)) {
  if (!model.has_decode_step()) throw Error("the device decode loop needs a model with a decode step");
  const int64_t rows = cache.batch();
  if (spec_.samples <= 0 || rows != (spec_.cfg ? 2 : 1) * spec_.samples) {
    throw Error(cat("decode graph: ", spec_.samples, " sampled rows do not fit a cache of ", rows, " rows"));
  }
  auto options = at::TensorOptions().dtype(at::kLong).device(model.device());
  tokens_ = at::zeros({spec_.samples}, options);
  counters_ = at::zeros({2 + rows}, options);
  history_ = at::zeros({std::max<int64_t>(spec_.history_steps, 1), spec_.samples}, options);
  inputs_.slot = counters_.narrow(0, 0, 1);
  step_ = counters_.narrow(0, 1, 1);
  inputs_.positions = counters_.narrow(0, 2, rows);
  cuda_ = std::make_unique<Cuda>();
}

DecodeGraph::~DecodeGraph() = default;

bool DecodeGraph::captured() const {
#ifdef JANUSKIT_HAVE_CUDA
  return cuda_ && cuda_->graph != nullptr;
#else
  return false;
#endif
}

void DecodeGraph::start(const at::Tensor& last_hidden) {
  const int64_t rows = cache_.batch(), length = cache_.length();
  std::vector<int64_t> host(static_cast<size_t>(2 + rows));
  host[0] = length;  // slot of the first fed-back token
  host[1] = 0;       // step
  for (int64_t r = 0; r < rows; ++r) host[2 + r] = std::max<int64_t>(0, length - cache_.row_starts()[r]);
  counters_.copy_(at::tensor(host, at::kLong));
  sampler_.sample_on_device(spec_.logits(last_hidden), step_, tokens_, history_, spec_.cfg, spec_.vocab_limit);
  step_.add_(1);
  steps_ = 1;
}

void DecodeGraph::fetch_history(int64_t from, int64_t to, int buffer) {
  if (buffer < 0 || buffer > 1 || from < 0 || to < from || to > history_.size(0)) {
    throw Error(cat("decode graph: cannot read history rows [", from, ", ", to, ") into buffer ", buffer));
  }
  const int64_t n = to - from;
  at::Tensor& host = host_[buffer];
  if (!host.defined() || host.size(0) < n) {
    host = at::empty({std::max<int64_t>(n, 8), spec_.samples},
                     at::TensorOptions().dtype(at::kLong).pinned_memory(history_.is_cuda()));
  }
  host.narrow(0, 0, n).copy_(history_.narrow(0, from, n), /*non_blocking=*/true);
  host_rows_[buffer] = n;
#ifdef JANUSKIT_HAVE_CUDA
  if (history_.is_cuda()) cuda_->copied[buffer].record(c10::cuda::getCurrentCUDAStream(history_.device().index()));
#endif
}

at::Tensor DecodeGraph::wait_history(int buffer) {
  if (buffer < 0 || buffer > 1 || !host_[buffer].defined()) throw Error("decode graph: no history fetched into that buffer");
#ifdef JANUSKIT_HAVE_CUDA
  cuda_->copied[buffer].synchronize();
#endif
  return host_[buffer].narrow(0, 0, host_rows_[buffer]);
}

void DecodeGraph::body() {
  sampler_.observe(tokens_);  // the penalties see the tokens fed back (a no-op when they are off)
  at::Tensor hidden = model_.decode_step(spec_.embed(tokens_), inputs_, cache_);
  sampler_.sample_on_device(spec_.logits(hidden), step_, tokens_, history_, spec_.cfg, spec_.vocab_limit);
  counters_.add_(1);  // slot, step and every position advance together
}

void DecodeGraph::step() {
  if (steps_ == 0) throw Error("decode graph: step() before start()");
  ++steps_;
#ifdef JANUSKIT_HAVE_CUDA
  if (!history_.is_cuda()) {
    body();  // the CPU twins, step by step (DecodeLoop::device on the CPU)
    return;
  }
  if (cuda_->graph) {
    cuda_->graph->replay();
    return;
  }
  if (!warmed_up_) {
    // Eager: cuBLAS handles and workspaces, the attention workspace and the sampler's scratch are
    // created here, outside the capture.
    body();
    warmed_up_ = true;
    return;
  }
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  graph->capture_begin();
  try {
    body();
  } catch (...) {
    try {
      graph->capture_end();  // leaves capture mode; the graph is discarded
    } catch (...) {
    }
    throw;
  }
  graph->capture_end();
  cuda_->graph = std::move(graph);
  cuda_->graph->replay();
#else
  body();
#endif
}

}  // namespace januskit::engine
