// `januskit info MODEL [--tensors] [--json] [--tensor NAME]`: what a model folder or weights file holds.
#include <iostream>

#include "commands.hpp"
#include "io/model_info.hpp"

namespace januskit::cli {

void add_info_command(CLI::App& app) {
  struct Flags {
    std::string model;
    bool tensors = false;
    bool json = false;
    std::string tensor;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a model folder or weights file: architecture, parameters, dtypes, memory");
  cmd->add_option("MODEL", flags->model, "Model folder (config.json + weights) or one .safetensors/.bin/.pt file")->required();
  cmd->add_flag("--tensors", flags->tensors, "List every tensor: name, dtype, shape, file");
  cmd->add_flag("--json", flags->json, "Print one JSON object instead of text");
  cmd->add_option("--tensor", flags->tensor, "Read one tensor and print its statistics and first values");
  cmd->callback([flags] {
    if (!flags->tensor.empty()) {
      const io::TensorSummary s = io::summarize_tensor(io::open_model_weights(flags->model), flags->tensor);
      std::cout << (flags->json ? io::tensor_summary_json(s).dump(2) + "\n" : io::format_tensor_summary(s));
      return;
    }
    const io::ModelInfo info = io::inspect_model(flags->model);
    std::cout << (flags->json ? io::model_info_json(info, flags->tensors).dump(2) + "\n"
                              : io::format_model_info(info, flags->tensors));
  });
}

}  // namespace januskit::cli
