#include "pipelines/bench.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "engine/image_generator.hpp"
#include "engine/text_generator.hpp"
#include "io/model_dir.hpp"
#include "models/janus.hpp"
#include "models/llama.hpp"
#include "models/registry.hpp"

namespace januskit::pipelines {
namespace {

// --- Named shapes -----------------------------------------------------------------------------------

models::LlamaConfig decoder(const std::string& arch, int64_t vocab, int64_t hidden, int64_t inter, int64_t layers,
                            int64_t heads, int64_t kv_heads, double theta, double eps, int64_t max_positions) {
  models::LlamaConfig c;
  c.architecture = arch;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = inter;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.max_positions = max_positions;
  c.rms_norm_eps = eps;
  c.rope.rotary_dim = c.head_dim;
  c.rope.theta = theta;
  c.qkv_bias = arch == "Qwen2ForCausalLM";
  return c;
}

struct Shape {
  bool janus = false;
  models::LlamaConfig text;
};

Shape shape_of(const std::string& name) {
  Shape s;
  if (name == "r1-distill-qwen-1.5b") {
    s.text = decoder("Qwen2ForCausalLM", 151936, 1536, 8960, 28, 12, 2, 10000.0, 1e-6, 131072);
  } else if (name == "r1-distill-qwen-7b") {
    s.text = decoder("Qwen2ForCausalLM", 152064, 3584, 18944, 28, 28, 4, 10000.0, 1e-6, 131072);
  } else if (name == "r1-distill-llama-8b") {
    s.text = decoder("LlamaForCausalLM", 128256, 4096, 14336, 32, 32, 8, 500000.0, 1e-5, 131072);
    s.text.rope.scaling = nn::RopeConfig::Scaling::llama3;
    s.text.rope.factor = 8.0;
    s.text.rope.low_freq_factor = 1.0;
    s.text.rope.high_freq_factor = 4.0;
    s.text.rope.original_max_positions = 8192;
  } else if (name == "janus-pro-1b") {
    s.janus = true;
    s.text = decoder("LlamaForCausalLM", 102400, 2048, 5632, 24, 16, 16, 10000.0, 1e-6, 16384);
  } else if (name == "janus-pro-7b") {
    s.janus = true;
    s.text = decoder("LlamaForCausalLM", 102400, 4096, 11008, 30, 32, 32, 10000.0, 1e-6, 16384);
  } else {
    std::string names;
    for (const auto& n : bench_shapes()) names += (names.empty() ? "" : ", ") + n;
    throw UsageError(cat("--random: unknown shape '", name, "' (known: ", names, ")"));
  }
  return s;
}

// Janus-Pro's generation path around a language model of `text`'s shape (VQ-16: 16384 codes of 8 dims,
// a 24 × 24 grid; gen_head and gen_aligner of width D). The text head is unused by image generation:
// it is tied to the embedding rather than drawn (0.4–0.8 GB of random numbers nobody reads).
models::JanusConfig janus_generation_config(models::LlamaConfig text) {
  models::JanusConfig c;
  text.tie_word_embeddings = true;
  c.text = text;
  c.gen_head_dim = text.hidden_size;
  return c;
}

// --- Bytes a decode step reads ----------------------------------------------------------------------

double bytes_of(const at::Tensor& t) { return t.defined() ? static_cast<double>(t.numel() * t.element_size()) : 0.0; }

// What a text decode step reads: every decoder-layer weight, the final norm and the head; the embedding
// contributes only the rows looked up (unless it is the tied head).
double text_step_bytes(const models::LlamaModel& m) {
  const double embed = bytes_of(m.weights().embed);
  return static_cast<double>(m.weight_bytes()) - (m.config().tie_word_embeddings ? 0.0 : embed);
}

// Parameters of Janus's generation head and aligner (config arithmetic: quantized layers have no tensors to count).
int64_t generation_head_parameters(const models::JanusConfig& c) {
  const int64_t d = c.text.hidden_size, h = c.gen_head_dim, k = c.vq.codebook_size, e = c.vq.codebook_dim;
  return d * h + h + h * k + k + e * d + d + (c.gen_aligner_depth - 1) * (d * d + d);
}

// KV bytes one cached token of one row costs across all layers (keys and values).
double kv_bytes_per_token(models::LlamaModel& m) {
  const auto& c = m.config();
  return 2.0 * static_cast<double>(c.num_layers * c.num_kv_heads * c.head_dim) *
         static_cast<double>(c10::elementSize(m.dtype()));
}

// Bytes read by the decode steps of a run: step s (1-based) reads the weights and attends over
// prompt + s slots of each row.
double decode_bytes(double weight_bytes, double kv_per_token, int64_t rows, int64_t prompt, int64_t forwards) {
  const double slots = static_cast<double>(forwards) * static_cast<double>(prompt) +
                       static_cast<double>(forwards) * static_cast<double>(forwards + 1) / 2.0;
  return static_cast<double>(forwards) * weight_bytes + kv_per_token * static_cast<double>(rows) * slots;
}

std::vector<int32_t> random_ids(std::mt19937_64& rng, int64_t n, int64_t vocab) {
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(std::min<int64_t>(vocab, 100000) - 1));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& id : ids) id = pick(rng);
  return ids;
}

void finish_row(BenchRow& row, double weight_bytes, double kv_per_token, double copy_gbps) {
  const int64_t forwards = std::max<int64_t>(row.steps - 1, 0);
  const double bytes = decode_bytes(weight_bytes, kv_per_token, row.model_rows, row.prompt_tokens, forwards);
  row.bytes_per_step = forwards > 0 ? bytes / static_cast<double>(forwards) : 0.0;
  row.ms_per_step = row.steps > 0 ? row.decode_seconds * 1e3 / static_cast<double>(row.steps) : 0.0;
  row.achieved_gbps = rate(bytes, row.decode_seconds) / 1e9;
  row.percent_of_bandwidth = copy_gbps > 0 ? 100.0 * row.achieved_gbps / copy_gbps : 0.0;
  row.bound_seconds = copy_gbps > 0 ? bytes / (copy_gbps * 1e9) : 0.0;
}

engine::DecodeLoop loop_of(const std::string& name) {
  if (name == "auto") return engine::DecodeLoop::automatic;
  if (name == "eager") return engine::DecodeLoop::eager;
  throw UsageError(cat("--loop must be auto or eager, got '", name, "'"));
}

BenchRow run_text(models::LlamaModel& model, int64_t batch, const BenchOptions& o, double weight_bytes,
                  double copy_gbps) {
  std::mt19937_64 rng(o.seed + static_cast<uint64_t>(batch));
  std::vector<std::vector<int32_t>> prompts;
  for (int64_t b = 0; b < batch; ++b) prompts.push_back(random_ids(rng, o.prompt_tokens, model.vocab_size()));
  engine::GenerationOptions g;
  g.max_new_tokens = o.new_tokens;
  g.sampling.temperature = 0.6;  // R1's recommended sampling
  g.sampling.top_p = 0.95;
  g.sampling.seed = o.seed;
  g.decode_loop = loop_of(o.loop);
  engine::TextGenerator gen(model);
  for (int64_t w = 0; w < o.warmup; ++w) gen.generate(prompts, g);
  std::vector<engine::GenerationResult> runs;
  for (int64_t i = 0; i < o.runs; ++i) runs.push_back(gen.generate(prompts, g));
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    return a.stats.prefill_seconds + a.stats.decode_seconds < b.stats.prefill_seconds + b.stats.decode_seconds;
  });
  const engine::GenerationResult& r = runs[runs.size() / 2];
  BenchRow row;
  row.workload = "text";
  row.batch = row.model_rows = batch;
  row.prompt_tokens = o.prompt_tokens;
  row.steps = r.stats.steps;
  row.prefill_seconds = r.stats.prefill_seconds;
  row.decode_seconds = r.stats.decode_seconds;
  row.prefill_tokens_per_second = r.stats.prefill_tokens_per_second();
  row.decode_tokens_per_second = r.stats.decode_tokens_per_second();
  finish_row(row, weight_bytes, kv_bytes_per_token(model), copy_gbps);
  return row;
}

BenchRow run_image(models::JanusModel& model, const BenchOptions& o, double weight_bytes, double copy_gbps) {
  std::mt19937_64 rng(o.seed);
  std::vector<engine::ImageRequest> images;
  const int64_t P = std::max<int64_t>(o.image_prompt_tokens, 2);
  for (int64_t i = 0; i < o.images; ++i) {
    engine::ImageRequest r;
    r.cond_ids = random_ids(rng, P, model.vocab_size());
    r.uncond_ids = r.cond_ids;
    std::fill(r.uncond_ids.begin() + 1, r.uncond_ids.end() - 1, 1);  // BOS, pads, <begin_of_image>
    r.seed = o.seed + static_cast<uint64_t>(i);
    images.push_back(std::move(r));
  }
  engine::ImageGenerationOptions g;  // the reference's: CFG 5, temperature 1, no top-k
  g.decode_loop = loop_of(o.loop);
  engine::ImageGenerator gen(model);
  for (int64_t w = 0; w < o.warmup; ++w) gen.generate(images, g);
  std::vector<engine::ImageGenerationResult> runs;
  for (int64_t i = 0; i < o.runs; ++i) runs.push_back(gen.generate(images, g));
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    return a.prefill_seconds + a.decode_seconds < b.prefill_seconds + b.decode_seconds;
  });
  const engine::ImageGenerationResult& r = runs[runs.size() / 2];
  BenchRow row;
  row.workload = "image";
  row.batch = o.images;
  row.model_rows = 2 * o.images;
  row.prompt_tokens = P;
  row.steps = r.steps;
  row.prefill_seconds = r.prefill_seconds;
  row.decode_seconds = r.decode_seconds;
  row.prefill_tokens_per_second = rate(static_cast<double>(row.model_rows * P), r.prefill_seconds);
  row.decode_tokens_per_second = rate(static_cast<double>(o.images * r.steps), r.decode_seconds);
  row.images_per_minute = 60.0 * rate(static_cast<double>(o.images), r.prefill_seconds + r.decode_seconds);
  finish_row(row, weight_bytes, kv_bytes_per_token(model.llama()), copy_gbps);
  return row;
}

}  // namespace

const std::vector<std::string>& bench_shapes() {
  static const std::vector<std::string> names = {"r1-distill-qwen-1.5b", "r1-distill-qwen-7b", "r1-distill-llama-8b",
                                                 "janus-pro-1b", "janus-pro-7b"};
  return names;
}

double measure_copy_bandwidth(const c10::Device& device) {
  // Several times the last-level cache (60 MB of L2 on an H200, 32 MB of L3 per Zen 4 CCD), so the copy
  // streams from memory; on the CPU small enough that its two buffers, measured before the model is
  // loaded, stay below a quantized 1.5B model's resident size and so out of the peak RSS a benchmark
  // reports (2 x 512 MiB after the load had added 1 GiB to every int8/int4 figure).
  const int64_t bytes = device.is_cuda() ? (int64_t{2} << 30) : (int64_t{256} << 20);
  auto options = at::TensorOptions().dtype(at::kByte).device(device);
  at::Tensor src = at::randint(0, 256, {bytes}, options);  // random bytes: never time zeros
  at::Tensor dst = at::empty({bytes}, options);
  dst.copy_(src);  // warm-up: pages touched, kernels loaded
  synchronize(device);
  std::vector<double> seconds;
  for (int rep = 0; rep < (device.is_cuda() ? 15 : 5); ++rep) {
    Stopwatch clock;
    dst.copy_(src);
    synchronize(device);
    seconds.push_back(clock.seconds());
  }
  std::sort(seconds.begin(), seconds.end());
  return 2.0 * static_cast<double>(bytes) / seconds[seconds.size() / 2] / 1e9;
}

BenchResult run_bench(const BenchOptions& o) {
  if (o.workload != "text" && o.workload != "image") throw UsageError("bench: the workload is text or image");
  if (o.random.empty() == o.model.model.empty()) throw UsageError("bench needs exactly one of --random NAME or -m DIR");
  if (o.layers < 0) throw UsageError("--layers must be >= 0");
  if (o.layers > 0 && o.random.empty()) throw UsageError("--layers applies to --random shapes only");
  if (o.workload == "text" && (o.prompt_tokens < 1 || o.new_tokens < 2 || o.batches.empty())) {
    throw UsageError("bench text needs --prompt-tokens >= 1, --new-tokens >= 2 and at least one --batch");
  }
  for (int64_t b : o.batches) {
    if (b < 1) throw UsageError(cat("--batch must be >= 1, got ", b));
  }
  if (o.workload == "image" && o.images < 1) throw UsageError("--images must be >= 1");
  if (o.warmup < 0 || o.runs < 1) throw UsageError("--warmup must be >= 0 and --runs >= 1");
  loop_of(o.loop);

  const c10::Device device = resolve_device(parse_device(o.model.device));
  const c10::ScalarType dtype = resolve_dtype(parse_dtype(o.model.dtype), device);
  BenchResult result;
  result.device = device_name(device);
  result.dtype = dtype_name(dtype);

  apply_threads(o.model);
  const models::QuantChoice quant = quant_choice(o.model);
  nn::QuantizeRequest quantize;
  if (quant.given) quantize.spec = quant.spec;
  std::unique_ptr<engine::LanguageModel> text_model;
  std::unique_ptr<models::JanusModel> janus;
  result.copy_gbps = measure_copy_bandwidth(device);  // before the model: its buffers are gone again
  Stopwatch build;
  if (!o.random.empty()) {
    Shape shape = shape_of(o.random);
    if (o.layers > 0) shape.text.num_layers = std::min(o.layers, shape.text.num_layers);
    if (shape.janus != (o.workload == "image")) {
      throw UsageError(cat("--random ", o.random, " is ", shape.janus ? "a Janus-Pro" : "a text", " shape: use bench ",
                           shape.janus ? "image" : "text"));
    }
    if (shape.janus) {
      janus = models::JanusModel::random(janus_generation_config(shape.text), dtype, device, o.seed,
                                         models::JanusParts{false, true, false}, quantize);
    } else {
      text_model = models::LlamaModel::random(shape.text, dtype, device, o.seed, 0.02, quantize);
    }
    result.model = o.random;
  } else {
    io::ModelDir dir = io::ModelDir::open(o.model.model);
    const models::ArchitectureInfo arch = models::detect_architecture(dir);
    const bool is_janus = arch.kind == models::ModelKind::janus;
    if (is_janus != (o.workload == "image")) {
      throw UsageError(cat(o.model.model, " holds ", is_janus ? "a Janus model: use bench image" : "a text model: use bench text"));
    }
    if (is_janus) {
      janus = models::JanusModel::load(dir, device, dtype, models::JanusParts{false, true, false}, quant);
    } else {
      text_model = models::load_text_decoder(dir, device, dtype, quant);
    }
    result.model = dir.root.filename().string();
  }
  synchronize(device);
  log::info("bench: model ready in ", format_seconds(build.seconds()));

  if (o.workload == "text") {
    auto* llama = dynamic_cast<models::LlamaModel*>(text_model.get());
    if (llama == nullptr) throw Error("bench text supports Llama/Qwen2 decoders");
    result.layers = llama->config().num_layers;
    result.parameters = llama->config().parameter_count();
    result.weight_bytes = text_step_bytes(*llama);
    result.weights = llama->describe_weights();
    result.loop = engine::use_device_loop(loop_of(o.loop), *llama) ? "device" : "eager";
    for (int64_t batch : o.batches) result.rows.push_back(run_text(*llama, batch, o, result.weight_bytes, result.copy_gbps));
  } else {
    models::LlamaModel& llama = janus->llama();
    result.layers = llama.config().num_layers;
    // The language model (no text head) plus the generation head and aligner, read every step.
    result.weight_bytes = static_cast<double>(llama.weight_bytes() + janus->generation_head_bytes()) -
                          bytes_of(llama.weights().embed);
    // Without the embedding and the text head, which image steps do not read.
    const auto& text = llama.config();
    result.parameters = text.parameter_count() - text.vocab_size * text.hidden_size * (text.tie_word_embeddings ? 1 : 2) +
                        generation_head_parameters(janus->config());
    result.weights = janus->describe_weights();
    result.loop = engine::use_device_loop(loop_of(o.loop), *janus) ? "device" : "eager";
    result.rows.push_back(run_image(*janus, o, result.weight_bytes, result.copy_gbps));
  }
  return result;
}

nlohmann::json to_json(const BenchResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows) {
    rows.push_back({{"workload", row.workload},
                    {"batch", row.batch},
                    {"model_rows", row.model_rows},
                    {"prompt_tokens", row.prompt_tokens},
                    {"steps", row.steps},
                    {"prefill_seconds", row.prefill_seconds},
                    {"decode_seconds", row.decode_seconds},
                    {"prefill_tokens_per_second", row.prefill_tokens_per_second},
                    {"decode_tokens_per_second", row.decode_tokens_per_second},
                    {"ms_per_step", row.ms_per_step},
                    {"bytes_per_step", row.bytes_per_step},
                    {"achieved_gbps", row.achieved_gbps},
                    {"percent_of_bandwidth", row.percent_of_bandwidth},
                    {"bound_seconds", row.bound_seconds},
                    {"images_per_minute", row.images_per_minute}});
  }
  return {{"model", r.model},       {"device", r.device},           {"dtype", r.dtype},
          {"weights", r.weights},   {"layers", r.layers},     {"parameters", r.parameters},   {"weight_bytes", r.weight_bytes},
          {"copy_gbps", r.copy_gbps}, {"loop", r.loop},             {"rows", rows}};
}

std::string format_bench(const BenchResult& r) {
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line, "%s: %lld layers, %.3f B parameters, %.2f GB of weights per step (%s); %s %s, "
                "%s loop; copy bandwidth %.0f GB/s\n\n",
                r.model.c_str(), static_cast<long long>(r.layers), static_cast<double>(r.parameters) / 1e9,
                r.weight_bytes / 1e9, r.weights.c_str(), r.device.c_str(), r.dtype.c_str(), r.loop.c_str(), r.copy_gbps);
  out << line;
  out << "| workload | batch | prefill tok/s | decode tok/s | ms/step | GB/s | % of copy | decode s | bound s | images/min |\n";
  out << "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& row : r.rows) {
    char per_minute[32] = "-";
    if (row.workload == "image") std::snprintf(per_minute, sizeof per_minute, "%.2f", row.images_per_minute);
    std::snprintf(line, sizeof line, "| %s | %lld | %.1f | %.2f | %.2f | %.1f | %.1f | %.3f | %.3f | %s |\n",
                  row.workload.c_str(), static_cast<long long>(row.batch), row.prefill_tokens_per_second,
                  row.decode_tokens_per_second, row.ms_per_step, row.achieved_gbps, row.percent_of_bandwidth,
                  row.decode_seconds, row.bound_seconds, per_minute);
    out << line;
  }
  return out.str();
}

}  // namespace januskit::pipelines
