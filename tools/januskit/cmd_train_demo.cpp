// januskit train-demo janus|reasoner --out DIR: train the bundled demo models.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "core/error.hpp"
#include "training/demo_models.hpp"

namespace januskit::cli {

void add_train_demo_command(CLI::App& app) {
  struct Flags {
    std::string which;
    training::DemoOptions options;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("train-demo", "Train the small demo models januskit ships (CPU, seeded)");
  cmd->add_option("model", flags->which, "janus or reasoner")->required()->check(CLI::IsMember({"janus", "reasoner"}));
  cmd->add_option("--out", flags->options.out, "Model folder to write (replaced when training finishes)")->required();
  cmd->add_option("--steps", flags->options.steps,
                  cat("Steps of the main training phase (default: the shipped run, janus ", training::janus_schedule({}).lm,
                      ", reasoner ", training::reasoner_steps({}), ")"));
  cmd->add_option("--seed", flags->options.seed, "Seed of every random draw")->capture_default_str();
  cmd->add_option("--init", flags->options.init,
                  "janus: continue from this trained demo-janus folder (keeps its VQ tokenizer, trains the LM)");
  cmd->add_option("--vq-steps", flags->options.vq_steps,
                  "janus: steps of the VQ tokenizer phase (default 2000, at most --steps; with --init 0, i.e. the tokenizer is kept)");
  cmd->add_flag("--vision-only", flags->options.vision_only,
               "janus, with --init: train only the vision encoder and aligner (describe); generation stays as it is");
  cmd->callback([flags] {
    auto& f = *flags;
    if (f.options.steps < 0) throw UsageError("--steps must be positive");
    if (!f.options.init.empty() && f.which != "janus") throw UsageError("--init is for `train-demo janus` only");
    if (f.options.vq_steps != -1 && f.which != "janus") throw UsageError("--vq-steps is for `train-demo janus` only");
    if (f.options.vq_steps < -1) throw UsageError("--vq-steps must be >= 0");
    if (f.options.vision_only && (f.which != "janus" || f.options.init.empty())) {
      throw UsageError("--vision-only needs `train-demo janus --init DIR` (it trains a trained model's vision encoder)");
    }
    if (f.options.vision_only && f.options.vq_steps > 0) {
      throw UsageError("--vision-only keeps the VQ tokenizer; leave out --vq-steps");
    }
    if (!f.options.init.empty() && !std::filesystem::is_regular_file(f.options.init / "training.json")) {
      throw UsageError("--init " + f.options.init.string() + ": not a folder written by `train-demo janus`");
    }
    nlohmann::json report = f.which == "janus" ? training::train_demo_janus(f.options)
                                               : training::train_demo_reasoner(f.options);
    std::cout << report.dump(2) << std::endl;
  });
}

}  // namespace januskit::cli
