#include <gtest/gtest.h>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

#include <ATen/ATen.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace januskit;
using Kind = DeviceRequest::Kind;

TEST(ParseDevice, AcceptsTheDocumentedForms) {
  EXPECT_EQ(parse_device("auto").kind, Kind::automatic);
  EXPECT_EQ(parse_device("cpu").kind, Kind::cpu);
  auto cuda = parse_device("cuda");
  EXPECT_EQ(cuda.kind, Kind::cuda);
  EXPECT_EQ(cuda.index, -1);
  auto cuda3 = parse_device("cuda:3");
  EXPECT_EQ(cuda3.kind, Kind::cuda);
  EXPECT_EQ(cuda3.index, 3);
}

TEST(ParseDevice, RejectsOthersNamingTheFlag) {
  for (const char* bad : {"", "gpu", "CUDA", "cuda:", "cuda:-1", "cuda:1x", "cuda:a", "cpu:0", " cpu"}) {
    try {
      parse_device(bad);
      FAIL() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--device"), std::string::npos) << e.what();
    }
  }
}

TEST(ParseDtype, AcceptsNamesAndAliases) {
  EXPECT_EQ(parse_dtype("auto"), DTypeRequest::automatic);
  EXPECT_EQ(parse_dtype("f32"), DTypeRequest::f32);
  EXPECT_EQ(parse_dtype("float32"), DTypeRequest::f32);
  EXPECT_EQ(parse_dtype("bf16"), DTypeRequest::bf16);
  EXPECT_EQ(parse_dtype("bfloat16"), DTypeRequest::bf16);
  EXPECT_EQ(parse_dtype("f16"), DTypeRequest::f16);
  EXPECT_EQ(parse_dtype("fp16"), DTypeRequest::f16);
  EXPECT_THROW(parse_dtype("f8"), UsageError);
  EXPECT_THROW(parse_dtype("BF16 "), UsageError);
}

// The kernel's own view of the CPU, independent of cpuinfo (which LibTorch uses).
bool proc_cpuinfo_lists_bf16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("flags")) continue;
    std::istringstream words(line);
    for (std::string w; words >> w;) {
      if (w == "avx512_bf16" || w == "amx_bf16") return true;
    }
    return false;
  }
  return false;
}

TEST(ResolveDtype, AutoIsBf16OnCudaAndOnCpusWithNativeBf16) {
  if (std::getenv("JANUSKIT_CPU_BF16") == nullptr && std::filesystem::exists("/proc/cpuinfo")) {
    EXPECT_EQ(cpu_has_native_bf16(), proc_cpuinfo_lists_bf16());
  }
  EXPECT_EQ(resolve_dtype(DTypeRequest::automatic, c10::Device(c10::kCPU)),
            cpu_has_native_bf16() ? c10::kBFloat16 : c10::kFloat);
  EXPECT_EQ(resolve_dtype(DTypeRequest::f32, c10::Device(c10::kCPU)), c10::kFloat);
  EXPECT_EQ(resolve_dtype(DTypeRequest::automatic, c10::Device(c10::kCUDA, 0)), c10::kBFloat16);
  EXPECT_EQ(resolve_dtype(DTypeRequest::f16, c10::Device(c10::kCPU)), c10::kHalf);
  EXPECT_EQ(resolve_dtype(DTypeRequest::bf16, c10::Device(c10::kCPU)), c10::kBFloat16);
}

TEST(ResolveDevice, FollowsWhatTheMachineHas) {
  EXPECT_TRUE(resolve_device(parse_device("cpu")).is_cpu());
  const int n = cuda_device_count();
  if (n == 0) {
    EXPECT_TRUE(resolve_device(parse_device("auto")).is_cpu());
    try {
      resolve_device(parse_device("cuda"));
      FAIL() << "cuda accepted without a device";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--device cpu"), std::string::npos) << e.what();
    }
  } else {
    EXPECT_TRUE(resolve_device(parse_device("auto")).is_cuda());
    EXPECT_THROW(resolve_device(parse_device("cuda:" + std::to_string(n))), Error);
  }
}

TEST(Names, DtypeAndDevice) {
  EXPECT_EQ(dtype_name(c10::kBFloat16), "bf16");
  EXPECT_EQ(dtype_name(c10::kFloat), "f32");
  EXPECT_EQ(device_name(c10::Device(c10::kCUDA, 1)), "cuda:1");
}

TEST(Rng, SameSeedSameDrawsDifferentSeedDifferentDraws) {
  auto g1 = make_generator(1234, c10::Device(c10::kCPU));
  auto g2 = make_generator(1234, c10::Device(c10::kCPU));
  auto g3 = make_generator(1235, c10::Device(c10::kCPU));
  at::Tensor a = at::rand({64}, g1), b = at::rand({64}, g2), c = at::rand({64}, g3);
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_FALSE(at::equal(a, c));
  EXPECT_LT(random_seed(), uint64_t{1} << 53);
}
