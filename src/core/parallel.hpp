// The one way januskit code includes at::parallel_for.
//
// at::parallel_for is a header template: with LibTorch's OpenMP backend it runs on several threads only
// in a translation unit compiled with -fopenmp. Without it ATen/ParallelOpenMP.h compiles to nothing and
// every parallel_for silently runs on the calling thread (januskit's quantized matmuls did, until the
// build passed -fopenmp: the second core only spun). Refuse to build that way.
#pragma once

#include <ATen/Parallel.h>

#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "at::parallel_for needs -fopenmp here (cmake/LibTorch.cmake adds it to every C++ file that links januskit::torch)"
#endif
