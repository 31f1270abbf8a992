// januskit tokenize --tokenizer PATH [--jsonl] [--special-tokens none|tokenizer-json|processor] [TEXT]:
// show a model tokenizer's ids for a text, or encode JSON lines from stdin.
#include <iostream>

#include "commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "pipelines/tokenize.hpp"
#include "text/tokenizer.hpp"

namespace januskit::cli {

void add_tokenize_command(CLI::App& app) {
  struct Flags {
    std::string tokenizer, model, text, special = "none";
    bool jsonl = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Encode text with a model's tokenizer.json and print the ids");
  cmd->add_option("--tokenizer", flags->tokenizer, "tokenizer.json, or a model folder holding one");
  cmd->add_option("-m,--model", flags->model, "Model folder (same as --tokenizer DIR)");
  cmd->add_flag("--jsonl", flags->jsonl,
                "Read {\"text\": ...} lines from stdin, write {\"ids\": [...], \"decoded\": ...} lines");
  cmd->add_option("--special-tokens", flags->special,
                  "Special tokens around the text: none (how januskit encodes a rendered chat template), "
                  "tokenizer-json (tokenizer.json's post-processor, as the Rust tokenizers crate adds them) or "
                  "processor (as the model's own transformers 4.x processor adds them, e.g. the BOS of "
                  "DeepSeek's LlamaTokenizerFast folders; what describe, generate and ask --raw use)")
      ->check(CLI::IsMember({"none", "tokenizer-json", "processor"}))
      ->capture_default_str();
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
    auto tok = pipelines::load_model_tokenizer(flags->tokenizer.empty() ? flags->model : flags->tokenizer);
    const text::SpecialTokens special = flags->special == "processor"        ? text::SpecialTokens::processor
                                        : flags->special == "tokenizer-json" ? text::SpecialTokens::tokenizer_json
                                                                             : text::SpecialTokens::none;
    if (special == text::SpecialTokens::processor) log::debug("special tokens: ", tok.processor_rule());
    if (flags->jsonl) {
      pipelines::tokenize_jsonl(tok, special, std::cin, std::cout);
    } else {
      pipelines::tokenize_text(tok, flags->text, special, std::cout);
    }
  });
}

}  // namespace januskit::cli
