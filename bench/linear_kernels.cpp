// One linear layer of a real model shape through every CPU form januskit has or could use, at several
// batch sizes: the measurement behind docs/perf.md ("CPU linear kernels"). Not part of the CLI.
//
//   build/bench/linear_kernels [--threads T] [--shape NxK]... [--batch M]... [--seconds S]
//
// Forms: at::linear in f32 and bf16 (oneDNN/MKL), januskit's bf16 GEMV (decode sizes), int8 (per channel) and int4 (groups 32 and 128) kernels, and
// LibTorch's weight-only ops (_weight_int8pack_mm, _weight_int4pack_mm_for_cpu). Each is timed as the
// median of repeated calls on the same inputs; GB/s counts the weight bytes each form reads per call.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/timer.hpp"
#include "nn/dense_cpu.hpp"
#include "nn/linear.hpp"
#include "nn/quant.hpp"
#include "nn/quant_cpu.hpp"

namespace {

using namespace januskit;

double median_seconds(const std::function<void()>& fn, double budget) {
  fn();  // warm-up: pages touched, oneDNN primitives created
  std::vector<double> times;
  Stopwatch total;
  while (times.size() < 3 || (total.seconds() < budget && times.size() < 200)) {
    Stopwatch t;
    fn();
    times.push_back(t.seconds());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

struct Form {
  std::string name;
  double bytes;
  std::function<void()> run;
};

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  double budget = 1.0;
  std::vector<std::pair<int64_t, int64_t>> shapes;
  std::vector<int64_t> batches;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) budget = std::atof(argv[++i]);
    else if (a == "--batch" && i + 1 < argc) batches.push_back(std::atoll(argv[++i]));
    else if (a == "--shape" && i + 1 < argc) {
      long long n = 0, k = 0;
      if (std::sscanf(argv[++i], "%lldx%lld", &n, &k) != 2) return 2;
      shapes.emplace_back(n, k);
    } else {
      std::fprintf(stderr, "usage: linear_kernels [--threads T] [--shape NxK]... [--batch M]... [--seconds S]\n");
      return 2;
    }
  }
  // R1-Distill-Qwen-1.5B: fused q/k/v, o, fused gate/up, down, lm_head.
  if (shapes.empty()) shapes = {{2048, 1536}, {1536, 1536}, {17920, 1536}, {1536, 8960}, {151936, 1536}};
  if (batches.empty()) batches = {1, 8, 64, 512};
  at::set_num_threads(threads);
  std::printf("threads %d, januskit CPU kernels: %s\n\n", threads, nn::cpu_kernel_name(nn::default_cpu_kernel()).c_str());
  std::printf("| N x K | M | form | ms | weight GB/s | GMAC/s |\n| --- | ---: | --- | ---: | ---: | ---: |\n");
  at::manual_seed(0);
  for (auto [N, K] : shapes) {
    const at::Tensor w32 = at::randn({N, K}) * 0.02;
    const at::Tensor w16 = w32.to(at::kBFloat16);
    const nn::QuantizedMatrix q8 = nn::quantize(w32, {8, 0});
    const nn::QuantizedMatrix q4 = nn::quantize(w32, {4, 32});
    const nn::QuantizedMatrix q4g = nn::quantize(w32, {4, 128});
    const nn::Linear l8 = nn::Linear::quantized(q8, {}, c10::Device(c10::kCPU));
    const nn::Linear l4 = nn::Linear::quantized(q4, {}, c10::Device(c10::kCPU));
    const nn::Linear l4g = nn::Linear::quantized(q4g, {}, c10::Device(c10::kCPU));
    // LibTorch's forms: int8 [N, K] with a per-row scale; int4 packed by its converter, scales and
    // zeros [K / 128, N, 2] in bf16.
    const at::Tensor int8w = (q8.codes.to(at::kInt) - 128).to(at::kChar);
    const at::Tensor int8s = q8.scales.to(at::kBFloat16).view({N});
    const at::Tensor int4w = at::_convert_weight_to_int4pack_for_cpu(q4g.codes.to(at::kInt), 1);
    const at::Tensor int4sz = at::stack({q4g.scales.to(at::kFloat).t(), (8 - q4g.zeros.to(at::kFloat).t()) * q4g.scales.to(at::kFloat).t()}, 2)
                                  .to(at::kBFloat16).contiguous();
    for (int64_t M : batches) {
      const at::Tensor x32 = at::randn({M, K}), x16 = x32.to(at::kBFloat16);
      const double wn = static_cast<double>(N * K);
      std::vector<Form> forms = {
          {"at::linear f32", 4 * wn, [&] { at::linear(x32, w32); }},
          {"at::linear bf16", 2 * wn, [&] { at::linear(x16, w16); }},
          {"januskit bf16 GEMV (widen)", 2 * wn,
           [&] { nn::dense_gemv_cpu(x16, w16, {}, {}, nn::GemvArithmetic::widen); }},
          {"januskit int8 (bf16 act.)", static_cast<double>(l8.weight_bytes()), [&] { l8.forward(x16); }},
          {"januskit int4 g32 (bf16 act.)", static_cast<double>(l4.weight_bytes()), [&] { l4.forward(x16); }},
          {"januskit int4 g128 (bf16 act.)", static_cast<double>(l4g.weight_bytes()), [&] { l4g.forward(x16); }},
          {"_weight_int8pack_mm (bf16)", wn, [&] { at::_weight_int8pack_mm(x16, int8w, int8s); }},
          {"_weight_int4pack_mm_for_cpu g128 (bf16)", wn / 2, [&] { at::_weight_int4pack_mm_for_cpu(x16, int4w, 128, int4sz); }},
      };
      if (nn::cpu_has_avx512_bf16()) {
        forms.insert(forms.begin() + 3, Form{"januskit bf16 GEMV (pairs, AVX512_BF16)", 2 * wn,
                                             [&] { nn::dense_gemv_cpu(x16, w16, {}, {}, nn::GemvArithmetic::pairs); }});
      }
      for (const Form& f : forms) {
        if (M >= 64 && f.name.starts_with("at::linear f32") && N > 100000) continue;  // minutes, nothing learnt
        if (M > 8 && f.name.starts_with("januskit bf16 GEMV")) continue;             // a decode-size kernel
        const double s = median_seconds(f.run, budget);
        std::printf("| %lld x %lld | %lld | %s | %.3f | %.1f | %.1f |\n", static_cast<long long>(N), static_cast<long long>(K),
                    static_cast<long long>(M), f.name.c_str(), s * 1e3, f.bytes / s / 1e9, wn * static_cast<double>(M) / s / 1e9);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
