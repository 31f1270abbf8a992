#include "training/arithmetic_data.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"

namespace januskit::training {
namespace {

std::vector<int> digits_of(int64_t v) {  // least significant first
  std::vector<int> d;
  do {
    d.push_back(static_cast<int>(v % 10));
    v /= 10;
  } while (v > 0);
  return d;
}

int64_t random_operand(std::mt19937_64& rng, int max_digits) {
  const int digits = 1 + static_cast<int>(rng() % static_cast<uint64_t>(max_digits));
  int64_t lo = 1;
  for (int i = 1; i < digits; ++i) lo *= 10;
  const int64_t hi = lo * 10 - 1;
  if (digits == 1) lo = 0;
  return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

// Column addition of two non-negative numbers, one line per column.
std::string addition_steps(int64_t a, int64_t b) {
  std::vector<int> x = digits_of(a), y = digits_of(b);
  const size_t n = std::max(x.size(), y.size());
  std::string out = "Add digit by digit from the right.\n";
  int carry = 0;
  for (size_t i = 0; i < n; ++i) {
    const int da = i < x.size() ? x[i] : 0, db = i < y.size() ? y[i] : 0;
    const int sum = da + db + carry;
    out += cat(da, " + ", db);
    if (carry) out += " + 1";
    out += cat(" = ", sum);
    const int next = sum / 10;
    if (next && i + 1 == n) {
      out += cat(", write ", sum, ".\n");
    } else {
      out += cat(", write ", sum % 10, next ? " carry 1" : "", ".\n");
    }
    carry = next;
  }
  return out;
}

// Column subtraction of big - small (big >= small >= 0), one line per column.
std::string subtraction_steps(int64_t big, int64_t small) {
  std::vector<int> x = digits_of(big), y = digits_of(small);
  std::string out = "Subtract digit by digit from the right.\n";
  int borrow = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const int da = x[i], db = i < y.size() ? y[i] : 0;
    int top = da - borrow;
    const bool need = top < db;
    out += cat(da);
    if (borrow) out += " - 1";
    if (need) {
      top += 10;
      out += cat(" + 10 - ", db, " = ", top - db, ", write ", top - db, " borrow 1.\n");
    } else {
      out += cat(" - ", db, " = ", top - db, ", write ", top - db, ".\n");
    }
    borrow = need ? 1 : 0;
  }
  return out;
}

}  // namespace

std::string ArithmeticProblem::question() const { return cat("What is ", a, " ", op, " ", b, "?"); }

std::string ArithmeticProblem::response() const {
  std::string steps;
  if (op == '+') {
    steps = addition_steps(a, b);
  } else if (a >= b) {
    steps = subtraction_steps(a, b);
  } else {
    steps = cat(b, " is larger than ", a, ", so compute ", b, " - ", a, " and make it negative.\n", subtraction_steps(b, a));
  }
  const int64_t r = result();
  return cat(steps, "So ", a, " ", op, " ", b, " = ", r, ".\n</think>\n\n", a, " ", op, " ", b, " = \\boxed{", r, "}");
}

bool held_out(const ArithmeticProblem& p) {
  const uint64_t key = static_cast<uint64_t>(p.a) * 1000003u + static_cast<uint64_t>(p.b) * 7919u + (p.op == '+' ? 1 : 2);
  return (key * 0x9E3779B97F4A7C15ull >> 60) == 5;  // 1 in 16
}

ArithmeticProblem random_problem(std::mt19937_64& rng, int max_digits, bool held_out_only) {
  while (true) {
    ArithmeticProblem p;
    p.a = random_operand(rng, max_digits);
    p.b = random_operand(rng, max_digits);
    p.op = rng() % 2 == 0 ? '+' : '-';
    if (held_out(p) == held_out_only) return p;
  }
}

std::vector<std::string> arithmetic_corpus() {
  std::vector<std::string> out;
  std::mt19937_64 rng(2);
  for (int i = 0; i < 2000; ++i) {
    ArithmeticProblem p = random_problem(rng, 3, i % 16 == 0);
    out.push_back(p.question());
    out.push_back(p.response());
  }
  return out;
}

}  // namespace januskit::training
