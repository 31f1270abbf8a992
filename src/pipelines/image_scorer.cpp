#include "pipelines/image_scorer.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <vector>

#include "core/error.hpp"
#include "pipelines/janus_model.hpp"
#include "text/chat.hpp"

namespace januskit::pipelines {
namespace {

// The understanding prompt for `question` with one image, as describe builds it.
std::vector<int32_t> prompt_ids(const JanusBundle& b, const std::string& question) {
  const std::vector<text::Message> conversation = {{"user", "<image_placeholder>\n" + question}, {"assistant", ""}};
  std::vector<int32_t> ids = b.tokenizer.encode(text::render_janus_chat(conversation), text::SpecialTokens::processor);
  return text::expand_image_placeholders(ids, b.tokenizer,
                                         static_cast<int>(b.model->config().vision.num_patches()));
}

// The picture through the understanding encoder, once for every answer scored against it.
at::Tensor image_embeddings(JanusBundle& b, const io::RgbImage& picture) {
  return b.model->encode_images(understanding_pixels(b, picture));
}

// Summed log-probability of `answer` after `prompt` (teacher-forced, the image spliced in at the
// prompt's placeholders), and its token count.
std::pair<double, size_t> answer_log_prob(JanusBundle& b, const at::Tensor& image_embeds, std::vector<int32_t> ids,
                                          const std::string& answer) {
  const size_t start = ids.size();
  const std::vector<int32_t> tokens = b.tokenizer.encode(answer);
  if (tokens.empty()) throw UsageError("a prompt to score is empty");
  ids.insert(ids.end(), tokens.begin(), tokens.end());
  models::JanusModel& model = *b.model;
  const int64_t n = static_cast<int64_t>(ids.size());
  at::Tensor id_tensor = at::tensor(std::vector<int64_t>(ids.begin(), ids.end())).view({1, n}).to(model.device());
  engine::KVCache cache = model.make_cache(1, n);
  engine::ForwardBatch batch = cache.plan(n);
  at::Tensor logits = model.lm_logits(model.forward(model.embed_with_images(id_tensor, image_embeds, b.image_placeholder),
                                                    batch, cache));
  const at::Tensor lp = at::log_softmax(logits.to(at::kFloat).to(at::kCPU).view({n, -1}), -1);
  double sum = 0;
  for (size_t i = start; i < ids.size(); ++i) sum += lp[static_cast<int64_t>(i) - 1][ids[i]].item<double>();
  return {sum, tokens.size()};
}

}  // namespace

ScoreReadout parse_score_readout(std::string_view name) {
  if (name == "caption") return ScoreReadout::caption;
  if (name == "yes") return ScoreReadout::yes;
  throw UsageError(cat("unknown score readout '", name, "' (caption or yes)"));
}

const char* score_readout_name(ScoreReadout readout) { return readout == ScoreReadout::caption ? "caption" : "yes"; }

double score_image(JanusBundle& b, const io::RgbImage& picture, const std::string& prompt, ScoreReadout readout) {
  if (!b.model->parts().understanding) throw Error("scoring pictures needs the model's understanding encoder loaded");
  c10::InferenceMode guard;
  const at::Tensor image = image_embeddings(b, picture);
  if (readout == ScoreReadout::yes) {
    // Whole answers, not first tokens: a small vocabulary may split " Yes" and " No" into a shared
    // space token and the rest.
    const std::vector<int32_t> ids = prompt_ids(b, "Does this image show: " + prompt + "? Answer yes or no.");
    return answer_log_prob(b, image, ids, " Yes").first - answer_log_prob(b, image, ids, " No").first;
  }
  const auto [sum, count] = answer_log_prob(b, image, prompt_ids(b, "Describe this image."), " " + prompt);
  return sum / static_cast<double>(count);
}

}  // namespace januskit::pipelines
