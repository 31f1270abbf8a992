#include "pipelines/prompt_planner.hpp"

#include <c10/core/InferenceMode.h>

#include "core/error.hpp"
#include "engine/text_generator.hpp"
#include "pipelines/ask.hpp"
#include "pipelines/janus_model.hpp"
#include "text/chat.hpp"

namespace januskit::pipelines {
namespace {

// The answer's first paragraph, trimmed: an image prompt is one description, not a discussion.
std::string first_paragraph(const std::string& answer, const std::string& prompt) {
  const size_t begin = answer.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) {
    throw Error(cat("the planner gave no description for \"", prompt, "\" (an empty answer; with a reasoning "
                    "model raise --plan-tokens so that it finishes thinking)"));
  }
  size_t end = answer.find("\n\n", begin);
  if (end == std::string::npos) end = answer.size();
  std::string out = answer.substr(begin, end - begin);
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n' || out.back() == '\r' || out.back() == '\t')) {
    out.pop_back();
  }
  return out;
}

}  // namespace

std::string plan_question(const std::string& prompt) {
  return cat("Describe in one sentence a picture of: ", prompt,
             ". Name every object, its colour, its size and where it is in the picture.");
}

std::vector<std::string> plan_with_model(const ModelRequest& planner, const std::vector<std::string>& prompts,
                                         int64_t max_tokens) {
  AskOptions o;
  o.model = planner;
  o.max_tokens = max_tokens;
  o.sampling.temperature = 0;  // greedy: the plan follows from the prompt and the planner alone
  o.seed = 0;
  TextModel model = load_text_model(planner);
  std::vector<std::string> out;
  for (const std::string& prompt : prompts) {
    o.question = plan_question(prompt);
    AskResult r = ask(model, o);
    out.push_back(first_paragraph(r.samples.front().content, prompt));
  }
  return out;
}

std::string plan_with_janus(JanusBundle& b, const std::string& prompt, int64_t max_tokens) {
  if (!b.model->parts().understanding) throw Error("planning with Janus needs its language-model head loaded");
  c10::InferenceMode guard;
  const std::vector<text::Message> conversation = {{"user", plan_question(prompt)}, {"assistant", ""}};
  const std::vector<int32_t> ids =
      b.tokenizer.encode(text::render_janus_chat(conversation), text::SpecialTokens::processor);
  engine::GenerationOptions gen;
  gen.max_new_tokens = max_tokens;
  gen.sampling.temperature = 0;
  gen.eos_ids = {b.eos};
  gen.vocab_limit = static_cast<int64_t>(b.tokenizer.vocab_size());
  gen.skip_special_in_text = true;
  engine::GenerationResult out = engine::TextGenerator(*b.model, &b.tokenizer).generate({ids}, gen);
  return first_paragraph(out.rows[0].text, prompt);
}

}  // namespace januskit::pipelines
