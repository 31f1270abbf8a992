#include "training/reasoner_batches.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "text/chat.hpp"
#include "training/arithmetic_data.hpp"

namespace januskit::training {

ReasonerBatches::ReasonerBatches(const text::Tokenizer& tok, std::string bos_text, int32_t eos, uint64_t seed,
                                 int batch, int pool)
    : tok_(tok), bos_text_(std::move(bos_text)), eos_(eos), rng_(seed), batch_(batch), pool_(pool) {}

std::vector<ReasonerExample> ReasonerBatches::next() {
  if (ready_.empty()) refill();
  std::vector<ReasonerExample> out = std::move(ready_.back());
  ready_.pop_back();
  return out;
}

void ReasonerBatches::refill() {
  std::vector<ReasonerExample> drawn;
  for (int i = 0; i < batch_ * pool_; ++i) {
    ArithmeticProblem p = random_problem(rng_);
    ReasonerExample e{tok_.encode(text::render_r1({{"user", p.question()}}, true, bos_text_)),
                      tok_.encode(p.response())};
    e.answer.push_back(eos_);
    drawn.push_back(std::move(e));
  }
  std::stable_sort(drawn.begin(), drawn.end(),
                   [](const ReasonerExample& a, const ReasonerExample& b) { return a.length() < b.length(); });
  for (int b = 0; b < pool_; ++b) {
    ready_.emplace_back(std::make_move_iterator(drawn.begin() + b * batch_),
                        std::make_move_iterator(drawn.begin() + (b + 1) * batch_));
  }
  std::shuffle(ready_.begin(), ready_.end(), rng_);
}

}  // namespace januskit::training
