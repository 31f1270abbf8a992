// januskit meta IMAGE: print the generation parameters stored in a PNG.
#include <iostream>

#include "commands.hpp"
#include "core/error.hpp"
#include "io/png.hpp"

namespace januskit::cli {

void add_meta_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("meta", "Print the parameters (prompt, seed, CFG, ...) stored in a generated PNG");
  cmd->add_option("image", *path, "PNG written by januskit generate or gallery")->required();
  cmd->callback([path] {
    auto text = io::read_png_text(*path);
    auto it = text.find("parameters");
    if (it == text.end()) throw FileError(*path, "has no 'parameters' text chunk (not written by januskit?)");
    std::cout << it->second << std::endl;
  });
}

}  // namespace januskit::cli
