#include "core/build_info.hpp"

#include <torch/headeronly/version.h>

#include <sstream>

#include "core/device.hpp"
#include "core/error.hpp"

#ifdef JANUSKIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace januskit {

std::string januskit_version() {
  return
#include "januskit_version.inc"
      ;
}

std::string libtorch_version() { return TORCH_VERSION; }

bool cuda_kernels_compiled() {
#ifdef JANUSKIT_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

std::string cuda_kernel_targets() {
#ifdef JANUSKIT_CUDA_TARGETS
  // CMake's list "90-real,80-virtual" -> "sm_90, PTX compute_80"
  std::string list = JANUSKIT_CUDA_TARGETS, out;
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::string arch = item.substr(0, item.find('-'));
    bool virtual_only = item.find("-virtual") != std::string::npos;
    bool real_only = item.find("-real") != std::string::npos;
    if (!out.empty()) out += ", ";
    if (virtual_only) {
      out += "PTX compute_" + arch;
    } else {
      out += "sm_" + arch;
      if (!real_only) out += " + PTX compute_" + arch;
    }
  }
  return out;
#else
  return "";
#endif
}

std::string version_report() {
  std::ostringstream out;
  out << "januskit " << januskit_version() << "\n";
  out << "libtorch " << libtorch_version() << "\n";
  if (cuda_kernels_compiled()) {
    out << "cuda kernels: compiled for " << cuda_kernel_targets() << "\n";
  } else {
    out << "cuda kernels: not built\n";
  }
  const int devices = cuda_device_count();
  if (devices == 0) {
    out << "cuda device: none visible (running on the CPU)\n";
  } else {
#ifdef JANUSKIT_HAVE_CUDA
    cudaDeviceProp prop{};
    std::string name = cudaGetDeviceProperties(&prop, 0) == cudaSuccess ? prop.name : "unknown";
    out << "cuda device: " << devices << " visible (cuda:0 " << name << ")\n";
#else
    out << "cuda device: " << devices << " visible, but this build has no CUDA kernels\n";
#endif
  }
  return out.str();
}

}  // namespace januskit
