// Helpers shared by the C++ tests: seeded random inputs and the comparison metric of TESTING.md.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/rng.hpp"

namespace januskit::test {

// A CPU generator seeded from the test's name, so each test draws its own fresh inputs but reruns
// reproduce them.
inline at::Generator generator() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "none";
  return make_generator(std::hash<std::string>{}(name), c10::Device(c10::kCPU));
}

// ‖a − b‖ / ‖b‖ in f64; infinity when either holds NaN/Inf, so NaN never passes.
inline double rel_error(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor ad = a.detach().to(at::kCPU, at::kDouble), bd = b.detach().to(at::kCPU, at::kDouble);
  if (!at::isfinite(ad).all().item<bool>() || !at::isfinite(bd).all().item<bool>()) {
    return std::numeric_limits<double>::infinity();
  }
  double denom = bd.norm().item<double>();
  double num = (ad - bd).norm().item<double>();
  return denom == 0 ? num : num / denom;
}

// How many leading tokens two greedy continuations share.
inline size_t agreement(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.detach().to(at::kCPU, at::kDouble) - b.detach().to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

// GPU tests call this first: skips with the message ctest recognises as "skipped".
#define JANUSKIT_REQUIRE_CUDA()                                                  \
  do {                                                                           \
    if (::januskit::cuda_device_count() == 0) GTEST_SKIP() << "SKIPPED (no CUDA device)"; \
  } while (0)

}  // namespace januskit::test

namespace januskit::test {

// Folder written by the fixture maker NAME (tests/reference/make_NAME.py through januskit_fixture).
inline std::filesystem::path fixture_dir(const std::string& name) {
  const char* root = std::getenv("JANUSKIT_FIXTURES");
  if (root == nullptr) throw std::runtime_error("JANUSKIT_FIXTURES is not set: run the tests through ctest");
  return std::filesystem::path(root) / name;
}

// ../shared/fixtures beside the checkout (real tokenizer files with expected encodings); empty when
// this machine has no such folder.
inline std::filesystem::path shared_fixtures() {
  const char* shared = std::getenv("JANUSKIT_SHARED_DIR");
  if (shared == nullptr) return {};
  std::filesystem::path dir = std::filesystem::path(shared) / "fixtures";
  return std::filesystem::is_directory(dir) ? dir : std::filesystem::path();
}

// Tests that read ../shared/fixtures call this first: reported as skipped (not passed) without it.
#define JANUSKIT_REQUIRE_SHARED_FIXTURES()                                                        \
  do {                                                                                           \
    if (::januskit::test::shared_fixtures().empty()) GTEST_SKIP() << "SKIPPED (../shared/fixtures not found)"; \
  } while (0)

}  // namespace januskit::test

namespace januskit::test {

// A fresh folder under the system temp dir, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("januskit-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes a file (not atomically) and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    std::filesystem::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // Names of the entries in the folder, sorted.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace januskit::test
