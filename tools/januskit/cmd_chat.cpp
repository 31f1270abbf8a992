// januskit chat: an interactive multi-turn session with a reasoning model.
#include <unistd.h>

#include <iostream>

#include "commands.hpp"
#include "core/terminal.hpp"
#include "pipelines/chat.hpp"

namespace januskit::cli {

void add_chat_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    pipelines::ChatOptions options;
    uint64_t seed = 0;
    bool hide_thinking = false;
    bool no_think = false;
  };
  auto flags = std::make_shared<Flags>();
  auto& o = flags->options;
  CLI::App* cmd = app.add_subcommand("chat", "Interactive multi-turn chat with a reasoning model (/reset, /exit)");
  add_model_flags(*cmd, flags->model);
  cmd->add_option("--system", o.system, "System prompt");
  cmd->add_option("--max-tokens", o.max_tokens, "New tokens per answer")->capture_default_str();
  cmd->add_option("--ctx", o.context, "Context size in tokens (0 = the model's, at most 32768)")->capture_default_str();
  cmd->add_option("--temperature", o.sampling.temperature, "Sampling temperature (0 = greedy)")->capture_default_str();
  cmd->add_option("--top-p", o.sampling.top_p, "Nucleus sampling mass")->capture_default_str();
  cmd->add_option("--top-k", o.sampling.top_k, "Keep the k most likely tokens (0 = off)")->capture_default_str();
  cmd->add_option("--min-p", o.sampling.min_p, "Drop tokens below min-p x the top probability (0 = off)")->capture_default_str();
  add_chat_format_flags(*cmd, o.chat_format, flags->no_think);
  cmd->add_option("--seed", flags->seed, "Random seed");
  cmd->add_flag("--hide-thinking", flags->hide_thinking, "Do not show the reasoning");
  cmd->callback([flags, cmd] {
    auto& f = *flags;
    f.options.model = f.model.request();
    if (cmd->count("--seed") > 0) f.options.seed = f.seed;
    f.options.show_reasoning = !f.hide_thinking;
    f.options.thinking = !f.no_think;
    f.options.folder_sampling = sampling_given(*cmd);
    pipelines::run_chat(f.options, std::cin, std::cout, std::cerr, ::isatty(STDIN_FILENO) == 1);
  });
}

}  // namespace januskit::cli
