// --device and --dtype: parsing the user's words, then resolving them against what this machine has.
//   --device auto|cpu|cuda|cuda:N   auto = the first CUDA device when one is visible, else the CPU
//   --dtype  auto|f32|bf16|f16      auto = bf16 on CUDA (what the checkpoints hold); on the CPU bf16 where
//                                   it has native bf16 arithmetic (AVX512_BF16 or AMX), f32 elsewhere:
//                                   without it LibTorch emulates bf16 matmuls and f32 is faster
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>
#include <string_view>

namespace januskit {

struct DeviceRequest {
  enum class Kind { automatic, cpu, cuda };
  Kind kind = Kind::automatic;
  int index = -1;  // cuda:N; -1 = unspecified
};

enum class DTypeRequest { automatic, f32, bf16, f16 };

// Throw UsageError naming the flag for anything else.
DeviceRequest parse_device(std::string_view text);
DTypeRequest parse_dtype(std::string_view text);

// Number of CUDA devices LibTorch can use (0 without a driver, without a GPU, or in a CPU build).
int cuda_device_count();
// Throws Error when CUDA is requested but unusable (no device, index out of range).
c10::Device resolve_device(const DeviceRequest& request);
c10::ScalarType resolve_dtype(DTypeRequest request, const c10::Device& device);

// True where the CPU multiplies bf16 natively (AVX512_BF16 or AMX-BF16, as cpuinfo reports them).
// JANUSKIT_CPU_BF16=0 or 1 overrides the detection, for measuring both defaults on one machine.
bool cpu_has_native_bf16();

// Waits for queued device work (CUDA) so that host timers measure it; a no-op on the CPU.
void synchronize(const c10::Device& device);

std::string dtype_name(c10::ScalarType type);  // "f32", "bf16", "f16", else LibTorch's name
std::string device_name(const c10::Device& device);  // "cpu", "cuda:0"

}  // namespace januskit
