// Loads every tensor of a model folder or weights file through WeightLoader, the way a model build
// does, and reports time, throughput and peak RSS: the measurement behind docs/perf.md
// ("Checkpoint loading"). Not part of the januskit CLI.
//
//   build/bench/load_weights MODEL [cpu|cuda] [f32|bf16|f16]
#include <sys/resource.h>

#include <ATen/ATen.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/timer.hpp"
#include "io/checkpoint.hpp"
#include "io/model_info.hpp"

namespace {
double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace januskit;
  if (argc < 2) {
    std::fprintf(stderr, "usage: load_weights MODEL [cpu|cuda] [f32|bf16|f16]\n");
    return 2;
  }
  try {
    const c10::Device device = resolve_device(parse_device(argc > 2 ? argv[2] : "cpu"));
    const at::ScalarType dtype = resolve_dtype(parse_dtype(argc > 3 ? argv[3] : "bf16"), device);
    const double rss_start = peak_rss_mb();
    Stopwatch open_clock;
    const io::Checkpoint ckpt = io::open_model_weights(argv[1]);
    const double open_s = open_clock.seconds();
    Stopwatch load_clock;
    io::WeightLoader loader(ckpt, dtype, device);
    std::vector<at::Tensor> weights;
    uint64_t bytes = 0;
    for (const std::string& name : ckpt.names()) {
      weights.push_back(loader.take(name));
      bytes += static_cast<uint64_t>(weights.back().nbytes());
    }
    // Wait for the device: a reduction read back on the host.
    double checksum = 0;
    for (const at::Tensor& w : weights) {
      if (w.numel() > 0) checksum += w.reshape({-1})[0].item<double>();
    }
    loader.finish();
    const double load_s = load_clock.seconds();
    std::printf("%s -> %s %s: %zu tensors, file %s, loaded %s; open %.3f s, load %.3f s (%.2f GB/s of file data); "
                "peak RSS %.0f MB (%.0f MB before opening); checksum %g\n",
                argv[1], device_name(device).c_str(), dtype_name(dtype).c_str(), weights.size(),
                io::format_bytes(ckpt.total_bytes()).c_str(), io::format_bytes(bytes).c_str(), open_s, load_s,
                static_cast<double>(ckpt.total_bytes()) / 1e9 / load_s, peak_rss_mb(), rss_start, checksum);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", format_error_line(e.what()).c_str());
    return 1;
  }
  return 0;
}
