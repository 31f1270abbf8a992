#include "pipelines/chat.hpp"

#include <iostream>

#include "core/log.hpp"
#include "core/rng.hpp"
#include "text/chat_format.hpp"
#include "text/reasoning.hpp"
#include "text/reasoning_stream.hpp"

namespace januskit::pipelines {

int64_t run_chat(const ChatOptions& o, std::istream& in, std::ostream& answer, std::ostream& reasoning,
                 bool interactive) {
  TextModel m = load_text_model(o.model);
  const int64_t context = o.context > 0 ? o.context : std::min<int64_t>(m.model->max_positions(), 32768);
  engine::KVCache cache = m.model->make_cache(1, context);
  std::vector<int32_t> cached;
  std::vector<text::Message> history;
  if (!o.system.empty()) history.push_back({"system", o.system});
  engine::TextGenerator generator(*m.model, &m.tokenizer);
  const text::DetectedFormat format = choose_chat_format(m, o.chat_format);
  log::debug("chat format ", text::chat_format_name(format.format), ": ", format.reason);
  engine::GenerationOptions gen;
  gen.max_new_tokens = o.max_tokens;
  gen.sampling = o.folder_sampling ? with_folder_sampling(m, o.sampling, *o.folder_sampling) : o.sampling;
  gen.eos_ids = stop_ids(m, format.format);
  gen.vocab_limit = static_cast<int64_t>(m.tokenizer.vocab_size());
  uint64_t seed = o.seed.value_or(random_seed());

  int64_t turns = 0;
  std::string line;
  while (true) {
    if (interactive) answer << "> " << std::flush;
    if (!std::getline(in, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      history.resize(o.system.empty() ? 0 : 1);
      cached.clear();
      cache.truncate(0);
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    history.push_back({"user", line});
    const text::RenderedChat rendered = text::render_chat(history, {format.format, o.thinking, m.bos_text});
    std::vector<int32_t> prompt = m.tokenizer.encode(rendered.text);

    text::ReasoningStream splitter(rendered.start);
    auto show = [&](const text::ReasoningStream::Pieces& p) {
      if (o.show_reasoning && !p.reasoning.empty()) reasoning << p.reasoning << std::flush;
      if (!p.answer.empty()) answer << p.answer << std::flush;
    };
    gen.sampling.seed = seed + static_cast<uint64_t>(turns);  // each turn draws fresh, reproducibly
    engine::GenerationResult out = generator.continue_session(
        cache, cached, prompt, gen, [&](const engine::TokenEvent& e) { show(splitter.push(e.text)); });
    show(splitter.finish());
    answer << "\n" << std::flush;
    // The template keeps only the answer of earlier turns; the reasoning is dropped.
    history.push_back({"assistant", text::split_reasoning(out.rows[0].text, rendered.start).content});
    ++turns;
    log::debug("turn ", turns, ": ", out.stats.prompt_tokens, " new prompt tokens, ", out.stats.generated_tokens,
               " generated at ", out.stats.decode_tokens_per_second(), " tok/s");
  }
  return turns;
}

}  // namespace januskit::pipelines
