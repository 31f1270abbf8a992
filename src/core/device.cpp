#include "core/device.hpp"

#include <ATen/Context.h>
#include <ATen/cpu/Utils.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <charconv>
#include <cstdlib>
#include <string>

#include "core/error.hpp"

namespace januskit {

DeviceRequest parse_device(std::string_view text) {
  DeviceRequest r;
  if (text == "auto") return r;
  if (text == "cpu") {
    r.kind = DeviceRequest::Kind::cpu;
    return r;
  }
  if (text == "cuda") {
    r.kind = DeviceRequest::Kind::cuda;
    return r;
  }
  if (text.starts_with("cuda:")) {
    std::string_view digits = text.substr(5);
    int index = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() && index >= 0) {
      r.kind = DeviceRequest::Kind::cuda;
      r.index = index;
      return r;
    }
  }
  throw UsageError(cat("--device: expected auto, cpu, cuda or cuda:N, got '", text, "'"));
}

DTypeRequest parse_dtype(std::string_view text) {
  if (text == "auto") return DTypeRequest::automatic;
  if (text == "f32" || text == "float32" || text == "fp32") return DTypeRequest::f32;
  if (text == "bf16" || text == "bfloat16") return DTypeRequest::bf16;
  if (text == "f16" || text == "float16" || text == "fp16") return DTypeRequest::f16;
  throw UsageError(cat("--dtype: expected auto, f32, bf16 or f16, got '", text, "'"));
}

int cuda_device_count() {
  // at::hasCUDA() is false when LibTorch's CUDA half is absent or no driver loads.
  if (!at::hasCUDA()) return 0;
  return static_cast<int>(at::getNumGPUs());
}

c10::Device resolve_device(const DeviceRequest& request) {
  using Kind = DeviceRequest::Kind;
  const int count = request.kind == Kind::cpu ? 0 : cuda_device_count();
  switch (request.kind) {
    case Kind::cpu:
      return c10::Device(c10::kCPU);
    case Kind::automatic:
      return count > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    case Kind::cuda: {
      if (count == 0) {
        throw Error("--device cuda: no CUDA device is visible on this machine; use --device cpu (or auto)");
      }
      int index = request.index < 0 ? 0 : request.index;
      if (index >= count) {
        throw Error(cat("--device cuda:", index, ": only ", count, " CUDA device(s) visible (cuda:0",
                        count > 1 ? cat("..cuda:", count - 1) : std::string(), ")"));
      }
      return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
  }
  return c10::Device(c10::kCPU);
}

c10::ScalarType resolve_dtype(DTypeRequest request, const c10::Device& device) {
  switch (request) {
    case DTypeRequest::f32: return c10::kFloat;
    case DTypeRequest::bf16: return c10::kBFloat16;
    case DTypeRequest::f16: return c10::kHalf;
    case DTypeRequest::automatic:
      if (device.is_cuda()) return c10::kBFloat16;
      return cpu_has_native_bf16() ? c10::kBFloat16 : c10::kFloat;
  }
  return c10::kFloat;
}

bool cpu_has_native_bf16() {
  static const bool native = [] {
    if (const char* forced = std::getenv("JANUSKIT_CPU_BF16"); forced != nullptr && *forced != '\0') {
      const std::string value = forced;
      if (value == "0") return false;
      if (value == "1") return true;
      throw Error(cat("JANUSKIT_CPU_BF16: expected 0 or 1, got '", value, "'"));
    }
    for (const auto& [key, value] : at::cpu::get_cpu_capabilities()) {
      if ((key == "amx_bf16" || key == "avx512_bf16") && value.isBool() && value.toBool()) return true;
    }
    return false;
  }();
  return native;
}

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) at::detail::getCUDAHooks().deviceSynchronize(device.index() < 0 ? 0 : device.index());
}

std::string dtype_name(c10::ScalarType type) {
  switch (type) {
    case c10::kFloat: return "f32";
    case c10::kBFloat16: return "bf16";
    case c10::kHalf: return "f16";
    case c10::kDouble: return "f64";
    default: return c10::toString(type);
  }
}

std::string device_name(const c10::Device& device) { return device.str(); }

}  // namespace januskit
