// januskit describe IMAGE ["QUESTION"]: Janus-Pro image understanding.
#include <nlohmann/json.hpp>

#include <iostream>

#include "commands.hpp"
#include "pipelines/describe_image.hpp"

namespace januskit::cli {

void add_describe_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    pipelines::DescribeOptions options;
    uint64_t seed = 0;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto& o = flags->options;
  CLI::App* cmd = app.add_subcommand("describe", "Describe an image or answer a question about it with Janus-Pro");
  cmd->add_option("image", o.image, "Image file (PNG, JPEG, WebP, BMP)")->required();
  cmd->add_option("question", o.question, "Question about the image")->capture_default_str();
  add_model_flags(*cmd, flags->model);
  cmd->add_option("--max-tokens", o.max_tokens, "Maximum answer tokens")->capture_default_str();
  cmd->add_option("--temperature", o.sampling.temperature, "Sampling temperature (0 = greedy, the reference)")
      ->capture_default_str();
  cmd->add_option("--top-p", o.sampling.top_p, "Nucleus sampling mass")->capture_default_str();
  cmd->add_option("--top-k", o.sampling.top_k, "Keep the k most likely tokens (0 = off)")->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Random seed for sampling");
  cmd->add_flag("--json", flags->json, "Print JSON with prompt_ids, output_ids and content");
  cmd->callback([flags, cmd] {
    auto& f = *flags;
    f.options.model = f.model.request();
    if (cmd->count("--seed") > 0) f.options.seed = f.seed;
    if (f.json) {
      std::cout << pipelines::to_json(pipelines::describe_image(f.options)).dump() << std::endl;
      return;
    }
    pipelines::describe_image(f.options, [](std::string_view t) { std::cout << t << std::flush; });
    std::cout << std::endl;
  });
}

}  // namespace januskit::cli
