#include "pipelines/describe_image.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/image.hpp"
#include "pipelines/janus_model.hpp"
#include "text/chat.hpp"

namespace januskit::pipelines {

DescribeResult describe_image(const DescribeOptions& o, const std::function<void(std::string_view)>& on_text) {
  if (o.image.empty()) throw UsageError("describe: give an image file");
  if (o.max_tokens < 1) throw UsageError("--max-tokens must be at least 1");
  // Decode the image before loading the model: a bad file fails fast.
  io::RgbImage picture = io::load_rgb(o.image);
  JanusBundle b = load_janus(o.model, {.understanding = true, .generation = false, .vq_encoder = false});
  return describe_conversation(b, {{"user", std::string(kImagePlaceholder) + "\n" + o.question}}, &picture, o, on_text);
}

DescribeResult describe_conversation(JanusBundle& b, const std::vector<text::Message>& messages,
                                     const io::RgbImage* picture, const DescribeOptions& o,
                                     const std::function<void(std::string_view)>& on_text) {
  if (o.max_tokens < 1) throw UsageError("--max-tokens must be at least 1");
  auto& model = *b.model;
  const auto& vision = model.config().vision;
  std::vector<int32_t> ids = b.tokenizer.encode(text::render_janus_chat(messages), text::SpecialTokens::processor);
  const int64_t placeholders = std::count(ids.begin(), ids.end(), b.image_placeholder);
  if (placeholders != (picture != nullptr ? 1 : 0)) {
    throw Error(cat("the conversation holds ", placeholders, " ", kImagePlaceholder, " tokens for ",
                    picture != nullptr ? 1 : 0, " image(s); put exactly one before the question about the image"));
  }
  engine::PromptEmbedder embed;
  at::Tensor image_embeds;
  if (picture != nullptr) {
    ids = text::expand_image_placeholders(ids, b.tokenizer, static_cast<int>(vision.num_patches()));
    image_embeds = model.encode_images(understanding_pixels(b, *picture));
    const int64_t placeholder = b.image_placeholder;
    embed = [&model, &image_embeds, placeholder](const at::Tensor& padded_ids) {
      return model.embed_with_images(padded_ids, image_embeds, placeholder);
    };
  }

  engine::GenerationOptions gen;
  gen.max_new_tokens = o.max_tokens;
  gen.sampling = o.sampling;
  gen.sampling.seed = o.seed.value_or(random_seed());
  gen.eos_ids = {b.eos};
  gen.vocab_limit = static_cast<int64_t>(b.tokenizer.vocab_size());
  gen.skip_special_in_text = true;  // the reference decodes with skip_special_tokens=True
  engine::TokenCallback on_token;
  if (on_text) on_token = [&](const engine::TokenEvent& e) { if (!e.text.empty()) on_text(e.text); };
  engine::GenerationResult out = engine::TextGenerator(model, &b.tokenizer).generate({ids}, gen, on_token, nullptr, embed);

  DescribeResult r;
  r.model = b.name;
  r.prompt_ids = std::move(ids);
  r.output_ids = out.rows[0].tokens;
  r.content = out.rows[0].text;
  r.finish_reason = engine::stop_reason_name(out.rows[0].reason);
  r.stats = out.stats;
  r.seed = gen.sampling.seed;
  return r;
}

nlohmann::json to_json(const DescribeResult& r) {
  return {{"model", r.model},
          {"prompt_ids", r.prompt_ids},
          {"output_ids", r.output_ids},
          {"content", r.content},
          {"finish_reason", r.finish_reason},
          {"usage", {{"prompt_tokens", r.prompt_ids.size()}, {"completion_tokens", r.output_ids.size()}}},
          {"timings",
           {{"prefill_seconds", r.stats.prefill_seconds},
            {"decode_seconds", r.stats.decode_seconds},
            {"decode_tokens_per_second", r.stats.decode_tokens_per_second()}}}};
}

}  // namespace januskit::pipelines
