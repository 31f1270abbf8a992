// Subcommand registration. Each subcommand lives in its own cmd_*.cpp: it declares its flags with
// CLI11 and calls one library function (src/pipelines or src/io). Nothing else happens in tools/.
// A subcommand is registered only once it works end to end.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "pipelines/text_model.hpp"

namespace januskit::cli {

// Flags shared by every subcommand that loads a model.
struct ModelFlags {
  std::string model;            // -m/--model DIR; empty = the bundled demo model
  std::string device = "auto";  // --device auto|cpu|cuda[:N]
  std::string dtype = "auto";   // --dtype auto|f32|bf16|f16
  std::string quant;            // --quant none|int8|int4; empty = as the folder is
  int64_t group_size = 0;       // --group-size
  int threads = 0;              // --threads; 0 = LibTorch's default (the machine's cores)

  pipelines::ModelRequest request() const { return {model, device, dtype, quant, group_size, threads}; }
};

void add_model_flags(CLI::App& cmd, ModelFlags& flags);

// --chat-format and --no-think of the reasoning commands (ask, chat).
void add_chat_format_flags(CLI::App& cmd, std::string& chat_format, bool& no_think);
// Which of --temperature/--top-p/--top-k/--min-p/--repeat-penalty were given (the rest come from
// the folder's generation_config.json).
pipelines::SamplingGiven sampling_given(const CLI::App& cmd);

// One registration function per subcommand (cmd_<name>.cpp); main() calls add_all_commands(), which
// adds them in --help order.
void add_generate_command(CLI::App& app);
void add_gallery_command(CLI::App& app);
void add_describe_command(CLI::App& app);
void add_ask_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_meta_command(CLI::App& app);
void add_train_demo_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_all_commands(CLI::App& app);

}  // namespace januskit::cli
