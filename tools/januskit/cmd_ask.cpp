// januskit ask "QUESTION": a reasoning model's streamed thinking and answer.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "core/error.hpp"
#include "core/terminal.hpp"
#include "pipelines/ask.hpp"
#include "text/chat_messages.hpp"

namespace januskit::cli {
namespace {

struct AskFlags {
  ModelFlags model;
  pipelines::AskOptions options;
  std::string file;
  std::string messages;
  bool no_think = false;
  uint64_t seed = 0;
  bool hide_thinking = false;
  bool json = false;
};

// The file a flag names, or standard input for "-"; `file` holds it open.
std::istream& open_input(const std::string& path, std::string_view flag, std::ifstream& file) {
  if (path == "-") return std::cin;
  file.open(path);
  if (!file) throw FileError(path, std::filesystem::exists(path) ? "cannot be read" : cat("not found (", flag, ")"));
  return file;
}

// One question per non-empty line of a file ("-": standard input).
std::vector<std::string> read_questions(const std::string& path) {
  std::ifstream file;
  std::istream* in = &open_input(path, "--file", file);
  std::vector<std::string> out;
  for (std::string line; std::getline(*in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) out.push_back(line);
  }
  if (out.empty()) throw UsageError(cat("--file ", path, ": no questions (one per line)"));
  return out;
}

void run_batch(AskFlags& f) {
  std::vector<pipelines::AskResult> results = pipelines::ask_batch(read_questions(f.file), f.options);
  for (const auto& r : results) {
    if (f.json) {
      std::cout << pipelines::to_json(r).dump() << "\n";
    } else {
      std::cout << r.final_answer.value_or(r.samples.front().content) << "\n";
    }
  }
  std::cout << std::flush;
}

// An OpenAI-style conversation file ("-": standard input).
std::vector<text::Message> read_messages(const std::string& path) {
  std::ifstream file;
  nlohmann::json conversation =
      nlohmann::json::parse(open_input(path, "--messages", file), nullptr, /*allow_exceptions=*/false);
  if (conversation.is_discarded()) throw FileError(path, "is not valid JSON (--messages expects [{\"role\": …, \"content\": …}, …])");
  return text::parse_messages(conversation, path);
}

void run_ask(AskFlags& f, const CLI::App& cmd) {
  auto& o = f.options;
  o.model = f.model.request();
  if (cmd.count("--seed") > 0) o.seed = f.seed;
  o.thinking = !f.no_think;
  o.folder_sampling = sampling_given(cmd);
  if (!f.messages.empty()) {
    if (!o.question.empty() || !f.file.empty()) throw UsageError("ask: --messages holds the conversation; give no question or --file");
    o.messages = read_messages(f.messages);
  } else if (!f.file.empty()) {
    if (!o.question.empty()) throw UsageError("ask: give either a question or --file, not both");
    return run_batch(f);
  } else if (o.question.empty()) {
    throw UsageError("ask: give a question (or --file with one question per line, or --messages FILE.json)");
  }
  pipelines::AskStreams streams;
  if (!f.json) {
    const bool tty = stderr_is_tty();
    if (!f.hide_thinking) {
      // Reasoning goes to stderr (dimmed on a terminal), so stdout carries only the answer.
      streams.reasoning = [tty](std::string_view t) {
        std::cerr << (tty ? "\x1b[2m" : "") << t << (tty ? "\x1b[0m" : "") << std::flush;
      };
    }
    streams.answer = [](std::string_view t) { std::cout << t << std::flush; };
  }
  pipelines::AskResult r = pipelines::ask(o, streams);
  if (f.json) {
    std::cout << pipelines::to_json(r).dump() << std::endl;
    return;
  }
  if (o.samples == 1) {
    if (!f.hide_thinking) std::cerr << "\n";
    std::cout << std::endl;
  } else {
    for (size_t i = 0; i < r.samples.size(); ++i) {
      std::cerr << "sample " << i + 1 << " (seed " << r.samples[i].seed << "): "
                << r.samples[i].final_answer.value_or("(no answer)") << "\n";
    }
    std::cout << r.final_answer.value_or("(no answer)") << "\n";
    std::cerr << "agreement: " << r.agreement << "/" << r.samples.size() << "\n";
  }
}

}  // namespace

void add_ask_command(CLI::App& app) {
  auto flags = std::make_shared<AskFlags>();
  auto& o = flags->options;
  CLI::App* cmd = app.add_subcommand("ask", "Ask a reasoning model a question; streams its thinking, then the answer");
  cmd->add_option("question", o.question, "The question");
  cmd->add_option("--file", flags->file, "Answer every line of this file ('-': stdin); with --json one JSON line each");
  cmd->add_option("--batch", o.batch, "Questions x samples generated together with --file")->capture_default_str();
  add_model_flags(*cmd, flags->model);
  cmd->add_option("--max-tokens", o.max_tokens, "New tokens per answer, reasoning included")->capture_default_str();
  cmd->add_option("--temperature", o.sampling.temperature, "Sampling temperature (0 = greedy)")->capture_default_str();
  cmd->add_option("--top-p", o.sampling.top_p, "Nucleus sampling mass")->capture_default_str();
  cmd->add_option("--top-k", o.sampling.top_k, "Keep the k most likely tokens (0 = off)")->capture_default_str();
  cmd->add_option("--min-p", o.sampling.min_p, "Drop tokens below min-p x the top probability (0 = off)")->capture_default_str();
  cmd->add_option("--repeat-penalty", o.sampling.repetition_penalty, "Repetition penalty (1 = off)")->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Random seed (default: random, reported with --json)");
  cmd->add_option("--stop", o.stop, "Stop when this text appears (repeatable); the text is not printed");
  cmd->add_option("--system", o.system, "System prompt (DeepSeek recommends none for R1)");
  cmd->add_option("--messages", flags->messages,
                  "A whole conversation: a JSON file of [{\"role\", \"content\"}, ...] ('-': stdin)");
  add_chat_format_flags(*cmd, o.chat_format, flags->no_think);
  cmd->add_option("--think-budget", o.think_budget, "After N reasoning tokens, close the reasoning and answer");
  cmd->add_option("--samples", o.samples, "Sample N answers in one batch and vote on the final answer")->capture_default_str();
  cmd->add_flag("--hide-thinking", flags->hide_thinking, "Do not show the reasoning");
  cmd->add_flag("--raw", o.raw, "No chat template: encode the text as the tokenizer does by itself");
  cmd->add_flag("--json", flags->json, "Print one JSON object (ids, reasoning_content, content, timings)");
  cmd->callback([flags, cmd] { run_ask(*flags, *cmd); });
}

}  // namespace januskit::cli
