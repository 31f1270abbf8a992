#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "core/memory.hpp"

using namespace januskit;

namespace {

int64_t mem_total_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kib = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    in.ignore(64, '\n');
  }
  return 0;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.empty()) {
      unsetenv(name_);
    } else {
      setenv(name_, old_.c_str(), 1);
    }
  }

 private:
  const char* name_;
  std::string old_;
};

}  // namespace

TEST(FreeMemory, CpuFigureIsBetweenZeroAndTheMachinesTotal) {
  if (std::getenv("JANUSKIT_MEMORY_LIMIT") != nullptr) GTEST_SKIP() << "JANUSKIT_MEMORY_LIMIT is set";
  const FreeMemory free = free_memory(c10::Device(c10::kCPU));
  EXPECT_GT(free.bytes, 0);
  const int64_t total = mem_total_bytes();
  if (total > 0) EXPECT_LE(free.bytes, total);
  EXPECT_FALSE(free.source.empty());
}

TEST(FreeMemory, TheLimitVariableCapsItAndIsChecked) {
  {
    ScopedEnv limit("JANUSKIT_MEMORY_LIMIT", "1.5MB");
    const FreeMemory free = free_memory(c10::Device(c10::kCPU));
    EXPECT_EQ(free.bytes, 1500000);
    EXPECT_EQ(free.source, "JANUSKIT_MEMORY_LIMIT");
  }
  {
    ScopedEnv limit("JANUSKIT_MEMORY_LIMIT", "1000TB");  // above what is there: the real figure stays
    EXPECT_NE(free_memory(c10::Device(c10::kCPU)).source, "JANUSKIT_MEMORY_LIMIT");
  }
  ScopedEnv limit("JANUSKIT_MEMORY_LIMIT", "plenty");
  try {
    free_memory(c10::Device(c10::kCPU));
    FAIL() << "a malformed JANUSKIT_MEMORY_LIMIT was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("JANUSKIT_MEMORY_LIMIT"), std::string::npos) << e.what();
  }
}
