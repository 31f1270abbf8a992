// WeightLoader straight from the mapped checkpoint to a CUDA device (fixture `checkpoints`): every
// tensor arrives contiguous, in the requested dtype, equal bit for bit to the CPU path, and the
// conversion happens on the device. Skipped where no CUDA device is visible.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "io/model_dir.hpp"
#include "test_util.hpp"

using namespace januskit;
using namespace januskit::io;

namespace {
std::filesystem::path fixture(const std::string& rel) { return test::fixture_dir("checkpoints") / rel; }
}  // namespace

TEST(WeightLoaderCuda, EveryDtypeAndLayoutMatchesTheCpuPath) {
  JANUSKIT_REQUIRE_CUDA();
  for (const char* file : {"roundtrip/state.pt", "roundtrip/zip64_full.pt", "roundtrip/state.safetensors"}) {
    SCOPED_TRACE(file);
    const Checkpoint ckpt = Checkpoint::open_files({fixture(file)});
    for (at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
      WeightLoader cpu(ckpt, dtype, at::Device(at::kCPU));
      WeightLoader gpu(ckpt, dtype, at::Device(at::kCUDA, 0));
      for (const std::string& name : ckpt.names()) {
        SCOPED_TRACE(name);
        const at::Tensor expected = cpu.take(name);
        const at::Tensor got = gpu.take(name);
        ASSERT_TRUE(got.defined());
        EXPECT_TRUE(got.is_cuda());
        EXPECT_TRUE(got.is_contiguous());
        EXPECT_EQ(got.scalar_type(), expected.scalar_type());
        EXPECT_EQ(got.sizes(), expected.sizes());
        // Bit-exact: both paths round the same file values to the same dtype.
        const at::Tensor back = got.cpu();
        EXPECT_EQ(back.nbytes(), expected.nbytes());
        if (back.nbytes() > 0) {
          EXPECT_EQ(std::memcmp(back.data_ptr(), expected.contiguous().data_ptr(), back.nbytes()), 0);
        }
      }
      cpu.finish();
      gpu.finish();
    }
  }
}

TEST(WeightLoaderCuda, ShardedModelFolderToBf16) {
  JANUSKIT_REQUIRE_CUDA();
  const Checkpoint ckpt = ModelDir::open(fixture("models/st_sharded")).open_checkpoint();
  WeightLoader w(ckpt, at::kFloat, at::Device(at::kCUDA, 0));
  const at::Tensor embed = w.take("model.embed_tokens.weight", {32, 8});
  EXPECT_EQ(embed.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(embed.cpu(), ckpt.view("model.embed_tokens.weight").to(at::kFloat)));
  EXPECT_FALSE(w.take("lm_head.weight", {8, 32}).defined());
  EXPECT_THROW(w.finish(), Error);
}
