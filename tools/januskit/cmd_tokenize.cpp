// januskit tokenize --tokenizer PATH [--jsonl] [TEXT]: show a model tokenizer's ids for a text, or
// encode JSON lines from stdin.
#include <iostream>

#include "commands.hpp"
#include "core/error.hpp"
#include "pipelines/tokenize.hpp"
#include "text/tokenizer.hpp"

namespace januskit::cli {

void add_tokenize_command(CLI::App& app) {
  struct Flags {
    std::string tokenizer, model, text;
    bool jsonl = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Encode text with a model's tokenizer.json and print the ids");
  cmd->add_option("--tokenizer", flags->tokenizer, "tokenizer.json, or a model folder holding one");
  cmd->add_option("-m,--model", flags->model, "Model folder (same as --tokenizer DIR)");
  cmd->add_flag("--jsonl", flags->jsonl,
                "Read {\"text\": ...} lines from stdin, write {\"ids\": [...], \"decoded\": ...} lines");
  cmd->add_option("text", flags->text, "Text to tokenize (prints ID<TAB>PIECE per token)");
  cmd->callback([flags, cmd] {
    if (flags->tokenizer.empty() == flags->model.empty()) {
      throw UsageError("tokenize needs exactly one of --tokenizer PATH or -m/--model DIR");
    }
    bool has_text = cmd->count("text") > 0;
    if (flags->jsonl == has_text) {
      throw UsageError(flags->jsonl ? "tokenize --jsonl reads stdin and takes no TEXT argument"
                                    : "tokenize needs a TEXT argument (or --jsonl to read JSON lines from stdin)");
    }
    auto tok = text::Tokenizer::load(flags->tokenizer.empty() ? flags->model : flags->tokenizer);
    if (flags->jsonl) {
      pipelines::tokenize_jsonl(tok, std::cin, std::cout);
    } else {
      pipelines::tokenize_text(tok, flags->text, std::cout);
    }
  });
}

}  // namespace januskit::cli
