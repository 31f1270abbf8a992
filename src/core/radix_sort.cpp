#include "core/radix_sort.hpp"

#include <array>
#include <cstring>

namespace januskit {
namespace {

// An order-preserving map of f32 bits to unsigned integers: negative numbers reversed, positive ones
// above them. -0 is mapped as +0 and every NaN above +inf, as at::sort's comparison treats them.
inline uint32_t sortable_key(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0xffffffffu;  // NaN
  if (u == 0x80000000u) u = 0;                              // -0 ties with +0
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

constexpr int kDigitBits[3] = {11, 11, 10};
constexpr int kDigitShift[3] = {0, 11, 22};

}  // namespace

void radix_argsort_ascending(const float* x, int64_t n, float* values_out, int64_t* order_out, RadixSortScratch& s) {
  if (n <= 0) return;
  const size_t count = static_cast<size_t>(n);
  for (int b = 0; b < 2; ++b) {
    s.keys[b].resize(count);
    s.index[b].resize(count);
  }
  // One pass builds all three histograms.
  std::array<std::array<uint32_t, 2048>, 3> histogram{};
  uint32_t* keys = s.keys[0].data();
  uint32_t* index = s.index[0].data();
  for (size_t i = 0; i < count; ++i) {
    const uint32_t k = sortable_key(x[i]);
    keys[i] = k;
    index[i] = static_cast<uint32_t>(i);
    for (int d = 0; d < 3; ++d) ++histogram[d][(k >> kDigitShift[d]) & ((1u << kDigitBits[d]) - 1u)];
  }
  int from = 0;
  for (int d = 0; d < 3; ++d) {
    const uint32_t buckets = 1u << kDigitBits[d], mask = buckets - 1u;
    // A digit every key shares leaves the order as it is: skip the pass.
    const uint32_t first = (s.keys[from][0] >> kDigitShift[d]) & mask;
    if (histogram[d][first] == count) continue;
    std::array<uint32_t, 2048> start{};
    uint32_t total = 0;
    for (uint32_t b = 0; b < buckets; ++b) {
      start[b] = total;
      total += histogram[d][b];
    }
    const uint32_t* ki = s.keys[from].data();
    const uint32_t* ii = s.index[from].data();
    uint32_t* ko = s.keys[1 - from].data();
    uint32_t* io = s.index[1 - from].data();
    for (size_t i = 0; i < count; ++i) {
      const uint32_t at = start[(ki[i] >> kDigitShift[d]) & mask]++;
      ko[at] = ki[i];
      io[at] = ii[i];
    }
    from = 1 - from;
  }
  const uint32_t* order = s.index[from].data();
  for (size_t i = 0; i < count; ++i) {
    order_out[i] = order[i];
    values_out[i] = x[order[i]];
  }
}

}  // namespace januskit
