// What this binary is: januskit version (git describe at build time), LibTorch version, and whether
// the CUDA kernels were compiled in (and for which targets). Printed by `januskit --version`.
#pragma once

#include <string>

namespace januskit {

std::string januskit_version();        // e.g. "0.1.0-12-g3f2a1bc"
std::string libtorch_version();        // e.g. "2.11.0"
bool cuda_kernels_compiled();
std::string cuda_kernel_targets();     // e.g. "sm_90, PTX compute_80"; empty when not built
// The multi-line text of `januskit --version`.
std::string version_report();

}  // namespace januskit
