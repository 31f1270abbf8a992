// januskit generate "PROMPT" [PROMPT...]: Janus-Pro text-to-image, or with --image an edit of a
// picture by instruction (Janus-4o).
#include <nlohmann/json.hpp>

#include <iostream>

#include "commands.hpp"
#include "core/error.hpp"
#include "pipelines/generate_images.hpp"

namespace januskit::cli {

void add_generate_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    pipelines::GenerateOptions options;
    uint64_t seed = 0;
    bool json = false;
    std::string readout = "caption";
    std::string planner;
    std::string image;
  };
  auto flags = std::make_shared<Flags>();
  auto& o = flags->options;
  CLI::App* cmd = app.add_subcommand("generate", "Generate images from text prompts with Janus-Pro");
  cmd->add_option("prompts", o.prompts, "One or more prompts (all rendered in one batch)")->required();
  add_model_flags(*cmd, flags->model);
  cmd->add_option("-n,--count", o.count, "Images per prompt")->capture_default_str();
  // Unset flags take the model folder's generation_config.json, else the reference's 5 / 1 / 0.
  cmd->add_option("--cfg", o.settings.cfg, "Classifier-free guidance weight (default: the model's, else 5)");
  cmd->add_option("--temperature", o.settings.temperature, "Sampling temperature, 0 = argmax (default: the model's, else 1)");
  cmd->add_option("--top-k", o.settings.top_k, "Sample among the k most likely image tokens, 0 = all (default: the model's, else 0)");
  cmd->add_option("--seed", flags->seed, "Seed of the first image; image i uses seed + i (default: random)");
  cmd->add_option("-o,--output", o.output, "Output file (name_1.png... for several), folder, or pattern like out_%03d.png")
      ->capture_default_str();
  cmd->add_option("--batch", o.batch, "Images per batch (0 = as many as the free memory holds; -v shows the plan)")->capture_default_str();
  cmd->add_option("--best-of", o.best_of,
                  "Render N candidates per image and keep the one the model's own understanding rates best "
                  "(candidate k of image i uses seed + i + k * images)")
      ->capture_default_str();
  cmd->add_option("--best-of-readout", flags->readout,
                  "How candidates are rated: caption (mean log-probability of the prompt as the picture's "
                  "description) or yes (log p(Yes) - log p(No) for \"Does this image show: PROMPT?\")")
      ->check(CLI::IsMember({"caption", "yes"}))
      ->capture_default_str();
  cmd->add_flag("--plan", o.plan,
                "First let a language model describe each prompt concretely (objects, colours, layout) and draw "
                "that description; the plan is printed and stored in the PNG and --json");
  cmd->add_option("--planner", flags->planner,
                  "Model folder that writes the plans (any model `ask` runs; default: the Janus model's own "
                  "language model)");
  cmd->add_option("--plan-tokens", o.plan_tokens, "New tokens of a plan, a reasoning planner's thinking included")
      ->capture_default_str();
  cmd->add_option("--image", flags->image,
                  "Edit this picture: each prompt is an instruction about it (\"make the sky red\"); for "
                  "Janus-4o-style models trained on text-and-image-to-image");
  cmd->add_option("--image-cfg", o.image_cfg,
                  "With --image: weight of the instruction-and-picture condition against the instruction "
                  "with the picture's understanding view alone (Janus-4o's cfg_weight2)")
      ->capture_default_str();
  cmd->add_flag("--grid", o.grid, "Also write a contact sheet of all images (<output>_grid.png)");
  cmd->add_flag("--json", flags->json, "Print JSON: per image the file, seed and image token ids");
  cmd->callback([flags, cmd] {
    auto& f = *flags;
    f.options.model = f.model.request();
    if (cmd->count("--seed") > 0) f.options.seed = f.seed;
    f.options.readout = pipelines::parse_score_readout(f.readout);
    f.options.image = f.image;
    if (f.image.empty() && cmd->count("--image-cfg") > 0) throw UsageError("--image-cfg needs --image");
    if (!f.planner.empty()) {
      pipelines::ModelRequest planner = f.options.model;
      planner.model = f.planner;
      planner.quant.clear();
      f.options.planner = planner;
    }
    pipelines::GenerateResult r = pipelines::generate_images(f.options);
    if (f.json) {
      std::cout << pipelines::to_json(r).dump() << std::endl;
      return;
    }
    for (const auto& im : r.images) {
      std::cout << im.file.string() << "  (seed " << im.seed;
      if (!im.candidates.empty()) {
        std::cout << ", best of " << im.candidates.size() << ", score " << im.candidates[im.chosen].score;
      }
      std::cout << ")\n";
    }
    if (r.grid) std::cout << r.grid->string() << "  (grid)\n";
    std::cout << std::flush;
  });
}

}  // namespace januskit::cli
