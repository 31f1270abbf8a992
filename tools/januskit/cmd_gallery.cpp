// januskit gallery MANIFEST -o DIR: batch rendering of a manifest into a resumable gallery folder.
#include <iostream>

#include "commands.hpp"
#include "pipelines/render_gallery.hpp"

namespace januskit::cli {

void add_gallery_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    pipelines::GalleryOptions options;
    std::string manifest, output, shard;
    int64_t count = 1;
    uint64_t seed = 0;
    double cfg = 0, temperature = 0;
    int64_t top_k = 0;
    int64_t best_of = 1;
    bool plan = false;
    std::string readout = "caption", planner;
  };
  auto flags = std::make_shared<Flags>();
  auto& f = *flags;
  CLI::App* cmd = app.add_subcommand(
      "gallery", "Render a manifest of prompts into a gallery folder: resumable, with contact sheets and index.html");
  cmd->add_option("manifest", f.manifest, "JSON manifest (see samples/gallery-demo.json) or a text file, one prompt per line")
      ->required();
  cmd->add_option("-o,--output", f.output, "Gallery folder (created; rerun the same command to resume)")->required();
  add_model_flags(*cmd, f.model);
  cmd->add_option("--shard", f.shard, "Render only shard i of n (i/n, 1 <= i <= n) into a folder shared with the other shards");
  cmd->add_flag("--force", f.options.force, "Render this shard's images again even when they are present");
  cmd->add_option("--batch", f.options.batch, "Images per batch (0 = all with equal settings at once); a batch larger than the free memory allows is cut into parts (-v shows the plan)")
      ->capture_default_str();
  cmd->add_option("-n,--count", f.count, "Images per entry for entries that set no count or seeds (default 1)");
  cmd->add_option("--seed", f.seed, "First seed of entries that set no seeds (default 0)");
  cmd->add_option("--cfg", f.cfg, "CFG weight for entries that set none (default: the model's, else 5)");
  cmd->add_option("--temperature", f.temperature, "Temperature for entries that set none (default: the model's, else 1; 0 = argmax)");
  cmd->add_option("--top-k", f.top_k, "Top-k for entries that set none (default: the model's, else 0 = off)");
  cmd->add_option("--best-of", f.best_of,
                  "Candidates per image for entries that set no best_of: the one the model's own understanding "
                  "rates best is kept (candidate k of seed s uses s + k * 2^32)");
  cmd->add_option("--best-of-readout", f.readout, "How candidates are rated: caption or yes (see generate --help)")
      ->check(CLI::IsMember({"caption", "yes"}))
      ->capture_default_str();
  cmd->add_flag("--plan", f.plan, "Entries that set no plan draw a language model's concrete description of their prompt");
  cmd->add_option("--planner", f.planner, "Model folder that writes the plans (default: the Janus model's own language model)");
  cmd->add_option("--plan-tokens", f.options.plan_tokens, "New tokens of a plan")->capture_default_str();
  cmd->callback([flags, cmd] {
    auto& f = *flags;
    auto& o = f.options;
    o.model = f.model.request();
    o.manifest = f.manifest;
    o.output = f.output;
    if (cmd->count("--shard") > 0) o.shard = pipelines::parse_shard(f.shard);
    if (cmd->count("--count") > 0) o.defaults.count = f.count;
    if (cmd->count("--seed") > 0) o.defaults.seed_start = f.seed;
    if (cmd->count("--cfg") > 0) o.defaults.settings.cfg = f.cfg;
    if (cmd->count("--temperature") > 0) o.defaults.settings.temperature = f.temperature;
    if (cmd->count("--top-k") > 0) o.defaults.settings.top_k = f.top_k;
    if (cmd->count("--best-of") > 0) o.defaults.best_of = f.best_of;
    if (f.plan) o.defaults.plan = true;
    o.readout = pipelines::parse_score_readout(f.readout);
    if (!f.planner.empty()) {
      pipelines::ModelRequest planner = o.model;
      planner.model = f.planner;
      planner.quant.clear();
      o.planner = planner;
    }
    std::cout << pipelines::gallery_summary(pipelines::render_gallery(o)) << std::flush;
  });
}

}  // namespace januskit::cli
