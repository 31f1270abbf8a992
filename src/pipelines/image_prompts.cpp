#include "pipelines/image_prompts.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "pipelines/janus_model.hpp"
#include "text/chat.hpp"

namespace januskit::pipelines {
namespace {

std::vector<int32_t> padded_between_ends(std::vector<int32_t> ids, int32_t pad) {
  for (size_t i = 1; i + 1 < ids.size(); ++i) ids[i] = pad;
  return ids;
}

// The first position of a run of exactly `n` copies of `id`, or throws naming `what`.
int64_t run_of(const std::vector<int32_t>& ids, int32_t id, int64_t n, const char* what) {
  auto first = std::find(ids.begin(), ids.end(), id);
  const auto length = std::find_if(first, ids.end(), [id](int32_t t) { return t != id; }) - first;
  if (first == ids.end() || length != n || std::count(ids.begin(), ids.end(), id) != n) {
    throw Error(cat("the editing prompt does not hold one run of ", n, " ", what, " tokens as written; the tokenizer "
                    "split it (check the folder's tokenizer.json for the Janus special tokens)"));
  }
  return first - ids.begin();
}

}  // namespace

engine::ImageRequest text_to_image_request(const JanusBundle& b, const std::string& prompt, uint64_t seed) {
  engine::ImageRequest r;
  r.cond_ids = b.tokenizer.encode(text::render_janus_t2i(prompt), text::SpecialTokens::processor);
  if (r.cond_ids.back() != b.begin_of_image) {
    throw Error("the text-to-image prompt does not end with <begin_of_image>; the tokenizer split it");
  }
  r.uncond_ids = padded_between_ends(r.cond_ids, b.pad);
  r.seed = seed;
  return r;
}

EncodedPicture encode_picture(JanusBundle& b, const io::RgbImage& picture) {
  models::JanusModel& model = *b.model;
  const int64_t side = model.config().vision.image_size;
  if (model.config().vq.image_size() != side) {
    throw Error(cat("this Janus model's understanding encoder reads ", side, " px and its VQ encoder ",
                    model.config().vq.image_size(), " px; image editing needs both to read the same picture"));
  }
  at::Tensor pixels = understanding_pixels(b, picture);
  EncodedPicture out;
  out.understanding = model.encode_images(pixels).select(0, 0);
  at::Tensor codes = model.vq().quantize(model.vq().encode(pixels));
  out.generation = model.embed_image_tokens(codes).select(0, 0);
  return out;
}

engine::ImageRequest edit_request(const JanusBundle& b, const std::string& instruction, uint64_t seed,
                                  const EncodedPicture& picture) {
  const int64_t seen = picture.understanding.size(0), drawn = picture.generation.size(0);
  engine::ImageRequest r;
  r.cond_ids = b.tokenizer.encode(text::render_janus_edit(instruction, seen, drawn), text::SpecialTokens::processor);
  if (r.cond_ids.back() != b.begin_of_image) {
    throw Error("the editing prompt does not end with <begin_of_image>; the tokenizer split it");
  }
  const int64_t placeholders = run_of(r.cond_ids, b.image_placeholder, seen, "<image_placeholder>");
  // The pads of the second block: its <begin_of_image> follows the first block's <end_of_image>.
  const int64_t pads = placeholders + seen + 2;
  const bool framed = r.cond_ids.at(static_cast<size_t>(placeholders + seen)) == b.end_of_image &&
                      r.cond_ids.at(static_cast<size_t>(pads - 1)) == b.begin_of_image &&
                      run_of(r.cond_ids, b.pad, drawn, "pad") == pads;
  if (!framed) throw Error("the editing prompt's two picture blocks are not framed by <begin_of_image>/<end_of_image>");
  r.uncond_ids = padded_between_ends(r.cond_ids, b.pad);
  r.cond_runs = {{placeholders, picture.understanding}, {pads, picture.generation}};
  r.partial_runs = std::vector<engine::EmbeddingRun>{{placeholders, picture.understanding}};
  r.seed = seed;
  return r;
}

}  // namespace januskit::pipelines
