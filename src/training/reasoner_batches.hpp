// Training batches for the demo reasoner: random arithmetic problems in the R1 chat format, each
// batch made of problems of similar length.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "text/tokenizer.hpp"

namespace januskit::training {

// One training example: the R1 chat prompt (ending in "<think>\n") and the answer to learn (trace,
// boxed result, end of sentence).
struct ReasonerExample {
  std::vector<int32_t> prompt, answer;
  // Tokens the model reads: everything but the last answer token.
  size_t length() const { return prompt.size() + answer.size() - 1; }
};

// A batch is padded to its longest row and problems run from 55 to 142 tokens with the demo
// tokenizer, so at random 29 % of a batch was padding. Problems are drawn `pool` batches at a time,
// sorted by length and cut into batches, and those batches served in random order (so the order of
// lengths does not follow a pattern). Deterministic for a seed.
class ReasonerBatches {
 public:
  ReasonerBatches(const text::Tokenizer& tok, std::string bos_text, int32_t eos, uint64_t seed, int batch, int pool);

  std::vector<ReasonerExample> next();

 private:
  void refill();

  const text::Tokenizer& tok_;
  std::string bos_text_;
  int32_t eos_;
  std::mt19937_64 rng_;
  int batch_, pool_;
  std::vector<std::vector<ReasonerExample>> ready_;
};

}  // namespace januskit::training
