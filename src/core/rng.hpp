// Seeded random generators. The same seed gives the same draws on the same device and dtype; each
// image or sample of a batch gets its own generator seeded with seed + index, so results do not
// depend on batch composition.
#pragma once

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <cstdint>

namespace januskit {

// A generator for `device` (CPU or CUDA) seeded with `seed`.
at::Generator make_generator(uint64_t seed, const c10::Device& device);
// A fresh seed from the OS, for runs without --seed (the seed used is always reported).
uint64_t random_seed();

}  // namespace januskit
