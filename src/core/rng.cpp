#include "core/rng.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <random>

namespace januskit {

at::Generator make_generator(uint64_t seed, const c10::Device& device) {
  if (device.is_cuda()) {
    // Ask the CUDA hooks so that this file needs no CUDA headers (and works in CPU builds).
    at::Generator g = at::detail::getCUDAHooks().getNewGenerator(device.index() < 0 ? 0 : device.index());
    g.set_current_seed(seed);
    return g;
  }
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

uint64_t random_seed() {
  std::random_device rd;
  // 53 bits keeps the seed exact when a script reads it back as a JSON number (a double).
  return ((static_cast<uint64_t>(rd()) << 32) | rd()) & ((uint64_t{1} << 53) - 1);
}

}  // namespace januskit
