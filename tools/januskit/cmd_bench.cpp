// januskit bench text|image: decode throughput of a model of a real shape (--random NAME, weights drawn
// on the device) or of a model folder (-m DIR), against the copy bandwidth measured in the same run.
#include <nlohmann/json.hpp>

#include <iostream>

#include "commands.hpp"
#include "pipelines/bench.hpp"

namespace januskit::cli {
namespace {

struct BenchFlags {
  ModelFlags model;
  pipelines::BenchOptions options;
  std::vector<int64_t> batches;
  bool json = false;
};

std::string shape_list() {
  std::string names;
  for (const auto& n : pipelines::bench_shapes()) names += (names.empty() ? "" : ", ") + n;
  return names;
}

void add_common(CLI::App& cmd, BenchFlags& f) {
  cmd.add_option("--random", f.options.random, "A real model shape with random weights: " + shape_list());
  add_model_flags(cmd, f.model);
  cmd.add_option("--layers", f.options.layers, "Keep the first N decoder layers (--random; for CPU runs)");
  cmd.add_option("--warmup", f.options.warmup, "Untimed runs first (CUDA graphs are captured there)")->capture_default_str();
  cmd.add_option("--runs", f.options.runs, "Timed runs; the median one is reported")->capture_default_str();
  cmd.add_option("--loop", f.options.loop, "auto (the device loop on CUDA) or eager")->capture_default_str();
  cmd.add_option("--seed", f.options.seed, "Seed of the weights and prompts")->capture_default_str();
  cmd.add_flag("--json", f.json, "Print one JSON object instead of the table");
}

void run(BenchFlags& f) {
  auto& o = f.options;
  o.model = f.model.request();
  if (!f.batches.empty()) o.batches = f.batches;
  const pipelines::BenchResult r = pipelines::run_bench(o);
  std::cout << (f.json ? pipelines::to_json(r).dump(2) + "\n" : pipelines::format_bench(r));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Measure decode throughput against the memory bandwidth");
  bench->require_subcommand(1);

  auto text = std::make_shared<BenchFlags>();
  text->options.workload = "text";
  CLI::App* t = bench->add_subcommand("text", "Prefill N tokens, decode M tokens per row, at each batch size");
  add_common(*t, *text);
  t->add_option("--prompt-tokens", text->options.prompt_tokens, "Prompt tokens per row (N)")->capture_default_str();
  t->add_option("--new-tokens", text->options.new_tokens, "Decoded tokens per row (M)")->capture_default_str();
  t->add_option("--batch", text->batches, "Batch size; repeat for several (default: 1 and 8)");
  t->callback([text] { run(*text); });

  auto image = std::make_shared<BenchFlags>();
  image->options.workload = "image";
  CLI::App* i = bench->add_subcommand("image", "One Janus-Pro generation: K images x 576 steps with CFG");
  add_common(*i, *image);
  i->add_option("--images", image->options.images, "Images (K) in the batch")->capture_default_str();
  i->add_option("--prompt-tokens", image->options.image_prompt_tokens, "Prompt tokens per row")->capture_default_str();
  i->callback([image] { run(*image); });
}

}  // namespace januskit::cli
