// `januskit train-demo`: trains the small models januskit ships (models/demo-janus, models/demo-r1),
// with the same model classes and file formats as the real Janus-Pro and R1-Distill-Qwen models.
//
//   janus     1. a VQ image tokenizer (encoder, L2-normalised codebook, decoder) on 32x32 shape
//                pictures, 64 channels at full resolution (a GroupNorm over fewer channels acts as an
//                instance norm and loses the absolute colours the captions are about); outline pixels
//                weigh 5x in its loss and a training-only probe must read shape and size from its codes
//             2. one Llama decoder for both tasks: prompt -> 64 image tokens (10% unconditional prompts,
//                so guidance works), and image (tiny SigLIP + aligner) -> answer, in Janus' formats
//   reasoner  a Qwen2 decoder on multi-digit addition/subtraction with R1 traces
// Both share one byte-level BPE tokenizer trained here on the demo corpus. Everything is seeded.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>

namespace januskit::training {

struct DemoOptions {
  std::filesystem::path out;  // the model folder to write (replaced atomically)
  // 0: the defaults (full training); otherwise the main phase runs this many (janus: the VQ phase
  // too, up to its default 2000; the vision pre-training keeps its 1500 unless this is a smoke run).
  int64_t steps = 0;
  uint64_t seed = 1234;
  // janus only: start from the weights of a trained demo-janus folder instead of random ones, skip the
  // VQ phase (its tokenizer is kept) and train the language model further (`steps` steps, or the
  // default schedule). Continuing costs minutes where a run from scratch costs about an hour.
  std::filesystem::path init;
  // janus only: steps of the VQ tokenizer phase (-1: the default, 2000 (at most `steps`) from scratch
  // and none with --init; with --init, N > 0 trains the kept tokenizer further and the language model
  // follows).
  int64_t vq_steps = -1;
  // janus only, with `init`: train the image-understanding path alone (vision encoder and aligner,
  // through the frozen language model); the language model, image generation and the VQ tokenizer
  // stay exactly as they were.
  bool vision_only = false;
};

// Steps of each phase of `train-demo janus` for these options. The defaults (no --steps, no --init)
// are the run shipped as models/demo-janus: VQ tokenizer 2000, vision pre-training 1500, language
// model 12000.
struct JanusSchedule {
  int64_t vq = 0;      // 0: the tokenizer is kept as it is (--init)
  int64_t vision = 0;  // 0: no vision pre-training (--vision-only)
  int64_t lm = 0;      // the language model (or, with --vision-only, the vision encoder and aligner)
};
JanusSchedule janus_schedule(const DemoOptions& options);

// Steps of `train-demo reasoner`: --steps, else the run shipped as models/demo-r1 (2000).
int64_t reasoner_steps(const DemoOptions& options);

// The demo tokenizer.json (both families' special tokens).
nlohmann::json demo_tokenizer();

// Each returns a report (phases, steps, first/last loss, seconds, held-out accuracy where measured),
// also written as training.json beside the weights together with loss_curve.png.
nlohmann::json train_demo_janus(const DemoOptions& options);
nlohmann::json train_demo_reasoner(const DemoOptions& options);

}  // namespace januskit::training
