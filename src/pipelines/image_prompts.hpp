// The prompt rows of Janus image generation, as the reference scripts build them: text-to-image
// (deepseek-ai's generation script) and text-and-image-to-image (Janus-4o's editing procedure, see
// docs/janus-descendants.md), each encoded as the official processor encodes it (BOS first).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "engine/image_generator.hpp"
#include "io/image.hpp"

namespace januskit::pipelines {

struct JanusBundle;

// Conditional: "<|User|>: {prompt}\n\n<|Assistant|>:<begin_of_image>". Unconditional: the same length
// with everything between the first (BOS) and last (<begin_of_image>) token set to pad.
engine::ImageRequest text_to_image_request(const JanusBundle& b, const std::string& prompt, uint64_t seed);

// An input picture as both of Janus's vision paths see it, letterboxed as for understanding: the
// understanding embeddings (SigLIP + aligner) and the generation embeddings of its VQ codes
// (gen_embed + gen_aligner), [tokens, D] each. Needs the understanding encoder, the generation head
// and the VQ encoder.
struct EncodedPicture {
  at::Tensor understanding;
  at::Tensor generation;
};
EncodedPicture encode_picture(JanusBundle& b, const io::RgbImage& picture);

// Janus-4o's three rows: the full condition (the picture's understanding embeddings at the
// placeholders and its generation embeddings at the pads of the second block), the partial condition
// (understanding embeddings only) and the unconditional row (the prompt padded between BOS and the
// final <begin_of_image>). Throws Error when the tokenizer splits the blocks differently.
engine::ImageRequest edit_request(const JanusBundle& b, const std::string& instruction, uint64_t seed,
                                  const EncodedPicture& picture);

}  // namespace januskit::pipelines
