// `januskit bench text|image`: decoding throughput of a model of a real shape, against the memory
// bandwidth measured in the same run.
//
// A decode step must read every weight once and the visible KV cache once, so its time is bounded
// below by (weight bytes + KV bytes) / memory bandwidth. The benchmark runs a fixed workload through
// the library's own generators (the CUDA device loop on a GPU, the eager loop on the CPU), counts those
// bytes per step, and reports the achieved bytes/s next to the bandwidth of a large copy (a
// device-to-device copy on CUDA, a memcpy-like tensor copy on the CPU) measured in the same process:
//   text   prefill N random prompt tokens per row, then decode M tokens (R1's sampling: T 0.6,
//          top-p 0.95; no end-of-sequence stop) at each requested batch size
//   image  one Janus-Pro generation of K images: K (cond, uncond) row pairs, a P-token prompt, then
//          576 (tokens per image) steps with CFG 5 and T 1, as the reference; VQ decoding not timed
// Models: --random NAME builds a named real shape with random weights drawn on the device (no files;
// --layers N keeps the first N decoder layers, for CPU runs), or -m DIR loads a model folder.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/text_model.hpp"

namespace januskit::pipelines {

struct BenchOptions {
  std::string workload = "text";   // "text" or "image"
  std::string random;              // a shape from bench_shapes(); empty: load model.model
  ModelRequest model;              // -m DIR (with `random` empty), --device, --dtype
  int64_t layers = 0;              // > 0: keep the first N decoder layers (--random only)
  uint64_t seed = 0;               // weights and prompts
  int64_t warmup = 1;              // untimed runs of each workload first (CUDA graphs get captured there)
  int64_t runs = 1;                // timed runs; the one with the median total time is reported
  std::string loop = "auto";       // auto (device loop on CUDA) or eager: engine::DecodeLoop
  // text
  int64_t prompt_tokens = 512;     // N prefilled tokens per row
  int64_t new_tokens = 256;        // M decoded tokens per row
  std::vector<int64_t> batches = {1, 8};
  // image
  int64_t images = 16;             // K images (2K model rows)
  int64_t image_prompt_tokens = 32;
};

struct BenchRow {
  std::string workload;          // "text" / "image"
  int64_t batch = 0;             // rows sampled per step (text rows, or images)
  int64_t model_rows = 0;        // rows through the model (2 per image with CFG)
  int64_t prompt_tokens = 0;     // per row
  int64_t steps = 0;             // decode steps (samples per row)
  double prefill_seconds = 0, decode_seconds = 0;
  double prefill_tokens_per_second = 0;  // prompt tokens of all model rows / prefill time
  double decode_tokens_per_second = 0;   // sampled tokens of all rows / decode time
  double ms_per_step = 0;
  double bytes_per_step = 0;             // weights + KV read by an average decode step
  double achieved_gbps = 0;              // bytes read by all decode steps / decode time
  double percent_of_bandwidth = 0;       // achieved / measured copy bandwidth
  double bound_seconds = 0;              // decode bytes / copy bandwidth: the floor for the decode time
  double images_per_minute = 0;          // image workload: K / (prefill + decode time)
};

struct BenchResult {
  std::string model;            // shape name or folder
  std::string device, dtype;
  std::string weights;          // the form of the large weights ("bf16", "int4 g32 (avx512-vnni)", ...)
  int64_t layers = 0;           // decoder layers run
  int64_t parameters = 0;       // of the decoder and heads the workload uses
  double weight_bytes = 0;      // read per decode step
  double copy_gbps = 0;         // measured copy bandwidth (read + write bytes / time)
  std::string loop;             // "device" or "eager"
  std::vector<BenchRow> rows;
};

// Shapes --random accepts, with their config values (docs: r1.md §1, janus-pro.md §3).
const std::vector<std::string>& bench_shapes();

BenchResult run_bench(const BenchOptions& options);
// Bandwidth of a large copy on `device` in GB/s (bytes read + bytes written, median of several).
double measure_copy_bandwidth(const c10::Device& device);
nlohmann::json to_json(const BenchResult& result);
// A short Markdown table.
std::string format_bench(const BenchResult& result);

}  // namespace januskit::pipelines
