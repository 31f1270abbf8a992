#include "training/trainer.hpp"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/png.hpp"

namespace januskit::training {

double LossCurve::first_mean(size_t window) const {
  window = std::min(window, loss.size());
  double s = 0;
  for (size_t i = 0; i < window; ++i) s += loss[i];
  return window ? s / window : 0;
}

double LossCurve::last_mean(size_t window) const {
  window = std::min(window, loss.size());
  double s = 0;
  for (size_t i = loss.size() - window; i < loss.size(); ++i) s += loss[i];
  return window ? s / window : 0;
}

AdamW::AdamW(std::vector<at::Tensor> parameters, const TrainOptions& options)
    : params_(std::move(parameters)), o_(options) {
  for (auto& p : params_) {
    p.requires_grad_(true);
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

double AdamW::clip_gradients(double max_norm) {
  c10::NoGradGuard no_grad;
  double total = 0;
  for (auto& p : params_) {
    if (p.grad().defined()) total += p.grad().pow(2).sum().item<double>();
  }
  total = std::sqrt(total);
  if (max_norm > 0 && total > max_norm) {
    for (auto& p : params_) {
      if (p.grad().defined()) p.mutable_grad().mul_(max_norm / (total + 1e-6));
    }
  }
  return total;
}

void AdamW::step(double lr) {
  c10::NoGradGuard no_grad;
  ++t_;
  const double c1 = 1 - std::pow(o_.beta1, static_cast<double>(t_));
  const double c2 = 1 - std::pow(o_.beta2, static_cast<double>(t_));
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    const at::Tensor& g = p.grad();
    m_[i].mul_(o_.beta1).add_(g, 1 - o_.beta1);
    v_[i].mul_(o_.beta2).addcmul_(g, g, 1 - o_.beta2);
    // Decoupled weight decay on matrices only: norms, biases and embeddings of one row stay free.
    if (o_.weight_decay > 0 && p.dim() >= 2) p.mul_(1 - lr * o_.weight_decay);
    at::Tensor denom = (v_[i] / c2).sqrt_().add_(o_.eps);
    p.addcdiv_(m_[i], denom, -lr / c1);
  }
}

namespace {

// Turns CPU autocast on for its lifetime.
class CpuAutocast {
 public:
  explicit CpuAutocast(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCPU, true);
  }
  ~CpuAutocast() {
    if (!enabled_) return;
    at::autocast::set_autocast_enabled(at::kCPU, false);
    at::autocast::clear_cache();
  }

 private:
  bool enabled_;
};

// Training allocates and frees the same activation and gradient buffers every step. With glibc's
// defaults, buffers above its mmap threshold are unmapped when freed and mapped (and zeroed by the
// kernel) again next step: 131 million page faults in a 58-minute demo-janus run. Kept in the heap
// for reuse, 199 vision + 199 language-model steps fault 18x less, spend 1 s instead of 8 s in the
// kernel and run 7-11 % faster (docs/perf.md). Setting the same values again is harmless.
void keep_freed_buffers_for_reuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
#endif
}

double scheduled_lr(const TrainOptions& o, int64_t step) {
  if (step < o.warmup) return o.learning_rate * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  const double progress = static_cast<double>(step - o.warmup) / std::max<double>(1, static_cast<double>(o.steps - o.warmup));
  return o.min_learning_rate + 0.5 * (o.learning_rate - o.min_learning_rate) * (1 + std::cos(M_PI * progress));
}
}  // namespace

LossCurve train(std::vector<at::Tensor> parameters, const TrainOptions& o, const LossFunction& loss_fn,
                const std::function<void(int64_t, double)>& on_step) {
  keep_freed_buffers_for_reuse();
  AdamW optimizer(std::move(parameters), o);
  LossCurve curve;
  ProgressBar bar(o.steps, o.label, "step");
  double smoothed = 0;
  for (int64_t step = 0; step < o.steps; ++step) {
    optimizer.zero_grad();
    at::Tensor loss;
    {
      CpuAutocast autocast(o.bf16_autocast);
      loss = loss_fn(step).to(at::kFloat);
    }
    const double value = loss.item<double>();
    if (!std::isfinite(value)) throw Error(cat(o.label, ": the loss became ", value, " at step ", step, "; lower the learning rate"));
    loss.backward();
    optimizer.clip_gradients(o.clip_norm);
    optimizer.step(scheduled_lr(o, step));
    curve.loss.push_back(value);
    smoothed = step == 0 ? value : 0.95 * smoothed + 0.05 * value;
    bar.set_postfix(cat("loss ", std::round(smoothed * 1000) / 1000));
    bar.update(step + 1);
    if (on_step) on_step(step, value);
  }
  bar.finish();
  return curve;
}

void write_loss_plot(const std::filesystem::path& file, const std::vector<std::pair<std::string, LossCurve>>& curves) {
  constexpr int W = 720, H = 420, left = 60, right = 20, top = 30, bottom = 40;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = 1e30, hi = -1e30;
  size_t longest = 1;
  for (const auto& [_, c] : curves) {
    for (double v : c.loss) {
      if (v > 0) lo = std::min(lo, std::log10(v)), hi = std::max(hi, std::log10(v));
    }
    longest = std::max(longest, c.loss.size());
  }
  if (lo > hi) lo = 0, hi = 1;
  lo = std::floor(lo * 2) / 2, hi = std::ceil(hi * 2) / 2 + 1e-9;
  const cv::Scalar axis(60, 60, 60);
  cv::rectangle(img, cv::Point(left, top), cv::Point(W - right, H - bottom), axis, 1);
  for (double e = lo; e <= hi + 1e-9; e += 0.5) {
    const int y = H - bottom - static_cast<int>((e - lo) / (hi - lo) * (H - top - bottom));
    cv::line(img, cv::Point(left - 4, y), cv::Point(left, y), axis, 1);
    cv::putText(img, cat("1e", e), cv::Point(4, y + 4), cv::FONT_HERSHEY_SIMPLEX, 0.35, axis, 1, cv::LINE_AA);
  }
  cv::putText(img, cat("step (0..", longest, ")"), cv::Point(W / 2 - 40, H - 12), cv::FONT_HERSHEY_SIMPLEX, 0.4, axis, 1,
              cv::LINE_AA);
  static const cv::Scalar palette[] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}, {148, 103, 189}};
  int legend_y = top + 16;
  for (size_t k = 0; k < curves.size(); ++k) {
    const auto& [name, c] = curves[k];
    const cv::Scalar colour = palette[k % 4];
    std::vector<cv::Point> pts;
    double s = 0;
    for (size_t i = 0; i < c.loss.size(); ++i) {
      s = i == 0 ? c.loss[i] : 0.98 * s + 0.02 * c.loss[i];  // smoothed, as the progress bar shows
      if (s <= 0) continue;
      const int x = left + static_cast<int>(static_cast<double>(i) / std::max<size_t>(1, longest - 1) * (W - left - right));
      const int y = H - bottom - static_cast<int>((std::log10(s) - lo) / (hi - lo) * (H - top - bottom));
      pts.emplace_back(x, y);
    }
    if (pts.size() > 1) cv::polylines(img, pts, false, colour, 2, cv::LINE_AA);
    cv::putText(img, name, cv::Point(W - right - 200, legend_y), cv::FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv::LINE_AA);
    legend_y += 18;
  }
  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);  // palette above is written as OpenCV's BGR
  io::write_png(file, rgb.data, W, H);
}

}  // namespace januskit::training
