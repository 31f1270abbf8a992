// The training loop shared by the demo models: AdamW with decoupled weight decay, linear warm-up then
// cosine decay, gradient-norm clipping, a progress bar showing the smoothed loss, and the loss curve
// kept for a PNG plot. Written on plain ATen ops (autograd through the same model code inference runs),
// so it needs no part of LibTorch's C++ frontend. Deterministic: the caller seeds every draw.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace januskit::training {

struct TrainOptions {
  std::string label = "train";
  int64_t steps = 1000;
  double learning_rate = 1e-3;
  double min_learning_rate = 1e-4;  // at the end of the cosine
  int64_t warmup = 50;
  double weight_decay = 0.01;
  double beta1 = 0.9, beta2 = 0.98, eps = 1e-8;
  double clip_norm = 1.0;
  bool bf16_autocast = false;  // forward in bf16 where safe (matmuls, convolutions), f32 weights and optimizer
};

struct LossCurve {
  std::vector<double> loss;  // one entry per step
  // The mean loss over the first and last `window` steps (for smoke tests and reports).
  double first_mean(size_t window) const;
  double last_mean(size_t window) const;
};

// One optimisation step's loss, as a scalar tensor attached to the autograd graph.
using LossFunction = std::function<at::Tensor(int64_t step)>;

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> parameters, const TrainOptions& options);
  void step(double learning_rate);
  void zero_grad();
  // Clips the global gradient norm; returns the norm before clipping.
  double clip_gradients(double max_norm);

 private:
  std::vector<at::Tensor> params_, m_, v_;
  TrainOptions o_;
  int64_t t_ = 0;
};

// Runs options.steps steps of loss_fn + backward + AdamW. `on_step` (optional) is called after each
// step with (step, loss) — for periodic evaluation or codebook maintenance.
LossCurve train(std::vector<at::Tensor> parameters, const TrainOptions& options, const LossFunction& loss_fn,
                const std::function<void(int64_t, double)>& on_step = {});

// Plots one or more loss curves (log-scale loss, smoothed) into a PNG.
void write_loss_plot(const std::filesystem::path& file, const std::vector<std::pair<std::string, LossCurve>>& curves);

}  // namespace januskit::training
