// Synthetic reasoning data for the demo R1 model: multi-digit addition and subtraction, answered the R1
// way — digit-by-digit working inside <think> … </think>, then the result in \boxed{}.
//
//   question  "What is 347 + 586?"
//   response  "Add digit by digit from the right.\n7 + 6 = 13, write 3 carry 1.\n4 + 8 + 1 = 13, write 3
//              carry 1.\n3 + 5 + 1 = 9, write 9.\nSo 347 + 586 = 933.\n</think>\n\n347 + 586 = \boxed{933}"
//
// (The prompt already ends with "<think>\n", as in R1's template, so the response starts inside the
// reasoning.) Problems whose operand pair falls in a fixed hash class are held out from training.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace januskit::training {

struct ArithmeticProblem {
  int64_t a = 0, b = 0;
  char op = '+';  // '+' or '-'

  int64_t result() const { return op == '+' ? a + b : a - b; }
  std::string question() const;  // "What is 347 + 586?"
  std::string response() const;  // the reasoning, </think>, and the boxed answer
};

bool held_out(const ArithmeticProblem& p);
// Operands with 1 to max_digits digits each; `held_out_only` picks from the held-out class.
ArithmeticProblem random_problem(std::mt19937_64& rng, int max_digits = 3, bool held_out_only = false);
std::vector<std::string> arithmetic_corpus();

}  // namespace januskit::training
