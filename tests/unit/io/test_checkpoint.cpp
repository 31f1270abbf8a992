// Checkpoint and WeightLoader on files written here, plus the small helpers of info/convert.
#include <gtest/gtest.h>

#include "io/checkpoint.hpp"
#include "io/convert.hpp"
#include "io/model_info.hpp"
#include "io/safetensors.hpp"
#include "io_test_util.hpp"

using namespace januskit;
using namespace januskit::io;
using januskit::test::expect_error;
using januskit::test::TempDir;

namespace {

class Loader : public ::testing::Test {
 protected:
  void SetUp() override {
    at::manual_seed(3);
    write_safetensors(dir / "a.safetensors", {{"embed.weight", at::randn({6, 4})},
                                              {"layers.0.w", at::randn({4, 4}).to(at::kBFloat16)},
                                              {"layers.0.pool.latent", at::randn({2})},
                                              {"ids", at::arange(3, at::kLong)}});
    write_safetensors(dir / "b.safetensors", {{"head.weight", at::randn({6, 4}).to(at::kHalf)},
                                              {"scale.f8", at::randn({4}).to(at::kFloat8_e4m3fn)},
                                              {"codebook_used", at::zeros({5}, at::kInt)}});
    ckpt = Checkpoint::open_files({dir / "a.safetensors", dir / "b.safetensors"});
  }
  TempDir dir;
  Checkpoint ckpt;
};

}  // namespace

TEST_F(Loader, IndexesEveryFileByName) {
  EXPECT_EQ(ckpt.size(), 7u);
  const std::vector<std::string> names = ckpt.names();
  EXPECT_EQ(names.front(), "codebook_used");
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(ckpt.info("head.weight").file, dir / "b.safetensors");
  EXPECT_EQ(ckpt.info("head.weight").dtype, at::kHalf);
  EXPECT_EQ(ckpt.info("layers.0.w").nbytes, 32u);
  EXPECT_EQ(ckpt.total_bytes(), 96u + 32 + 8 + 24 + 48 + 4 + 20);
  EXPECT_EQ(ckpt.source_name(), dir.path().string());
  expect_error([&] { ckpt.info("nope"); }, {"tensor 'nope'", "not in the checkpoint"});
}

TEST_F(Loader, ConvertsFloatsKeepsIntegersAndFloat8) {
  WeightLoader w(ckpt, at::kFloat, at::Device(at::kCPU));
  const at::Tensor bf = w.take("layers.0.w", {4, 4});
  EXPECT_EQ(bf.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(bf, ckpt.view("layers.0.w").to(at::kFloat)));
  EXPECT_EQ(w.take("ids").scalar_type(), at::kLong);
  EXPECT_EQ(w.take("codebook_used").scalar_type(), at::kInt);
  EXPECT_EQ(w.take("scale.f8").scalar_type(), at::kFloat8_e4m3fn);
  EXPECT_EQ(w.take("head.weight", at::kBFloat16, {6, 4}).scalar_type(), at::kBFloat16);
}

TEST_F(Loader, SameDtypeOnTheCpuIsAZeroCopyViewThatOutlivesTheCheckpoint) {
  at::Tensor t;
  const void* mapped = ckpt.view("embed.weight").data_ptr();
  {
    WeightLoader w(ckpt, at::kFloat, at::Device(at::kCPU));
    t = w.take("embed.weight", {6, 4});
  }
  EXPECT_EQ(t.data_ptr(), mapped);
  ckpt = Checkpoint();  // drop the checkpoint; the tensor keeps the mapping
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{6, 4}));
  EXPECT_TRUE(at::isfinite(t).all().item<bool>());
}

TEST_F(Loader, FinishListsMissingMismatchedAndUnusedSorted) {
  WeightLoader w(ckpt, at::kFloat, at::Device(at::kCPU));
  EXPECT_FALSE(w.take("zeta.missing", {2, 3}).defined());
  EXPECT_FALSE(w.take("alpha.missing").defined());
  EXPECT_FALSE(w.take("embed.weight", {4, 6}).defined());
  EXPECT_FALSE(w.take_if_present("not.there").has_value());
  EXPECT_TRUE(w.take_if_present("head.weight").has_value());
  w.take("layers.0.w");
  w.ignore("layers.*.pool.*");
  const std::vector<std::string> problems = w.problems();
  const std::vector<std::string> expected = {
      "missing: alpha.missing",
      "missing: zeta.missing [2, 3]",
      "wrong shape: embed.weight is [6, 4] in a.safetensors, the model expects [4, 6]",
      "unused: codebook_used [5]",
      "unused: ids [3]",
      "unused: scale.f8 [4]",
  };
  EXPECT_EQ(problems, expected);
  const std::string msg = expect_error([&] { w.finish(); }, {dir.path().string(), "2 missing, 1 with the wrong shape, 3 unused"});
  for (const std::string& line : expected) EXPECT_NE(msg.find("\n" + line), std::string::npos) << line;
}

TEST_F(Loader, FinishPassesWhenEverythingIsUsedOrIgnored) {
  WeightLoader w(ckpt, at::kBFloat16, at::Device(at::kCPU));
  for (const std::string& name : ckpt.names()) {
    if (name != "codebook_used" && name != "layers.0.pool.latent") w.take(name);
  }
  w.ignore("codebook_used");
  w.ignore("*.pool.*");
  EXPECT_NO_THROW(w.finish());
}

TEST_F(Loader, LongListsAreTruncatedWithACount) {
  WeightLoader w(ckpt, at::kFloat, at::Device(at::kCPU));
  for (int i = 0; i < 30; ++i) w.take(cat("missing.", i < 10 ? "0" : "", i));
  const std::string msg = expect_error([&] { w.finish(); }, {"30 missing", "missing.00", "... and 17 more"});
  EXPECT_EQ(msg.find("missing.29"), std::string::npos);
}

TEST_F(Loader, DuplicateNamesAcrossFilesAreAnError) {
  write_safetensors(dir / "c.safetensors", {{"ids", at::arange(3, at::kLong)}});
  expect_error([&] { Checkpoint::open_files({dir / "a.safetensors", dir / "c.safetensors"}); },
               {"c.safetensors", "tensor 'ids' is also in", "a.safetensors"});
}

TEST(Glob, MatchesStarsAcrossDots) {
  EXPECT_TRUE(glob_match("vision_model.vision_tower.attn_pool.*", "vision_model.vision_tower.attn_pool.latent"));
  EXPECT_TRUE(glob_match("*codebook_used", "gen_vision_model.quantize.codebook_used"));
  EXPECT_TRUE(glob_match("a*b*c", "a.x.b.y.c"));
  EXPECT_TRUE(glob_match("exact", "exact"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("a*b*c", "a.x.b.y.d"));
  EXPECT_FALSE(glob_match("layers.*.w", "layers.0.v"));
  EXPECT_FALSE(glob_match("exact", "exact.weight"));
  EXPECT_FALSE(glob_match("", "x"));
  // Many stars against a long non-match stay fast (no exponential backtracking).
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST(ModelInfoHelpers, ComponentNames) {
  EXPECT_EQ(component_of("language_model.model.layers.0.self_attn.q_proj.weight"), "language_model");
  EXPECT_EQ(component_of("vision_model.vision_tower.blocks.0.attn.qkv.weight"), "vision_model");
  EXPECT_EQ(component_of("model.layers.3.mlp.up_proj.weight"), "model.layers");
  EXPECT_EQ(component_of("model.embed_tokens.weight"), "model.embed_tokens");
  EXPECT_EQ(component_of("model.weight"), "model");
  EXPECT_EQ(component_of("lm_head.weight"), "lm_head");
  EXPECT_EQ(component_of("scalar"), "scalar");
}

TEST(ModelInfoHelpers, Formatting) {
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(4178595094), "4.18 GB");
  EXPECT_EQ(format_bytes(14840868118), "14.84 GB");
  EXPECT_EQ(format_count(2089297547), "2,089,297,547");
  EXPECT_EQ(format_count(12), "12");
  EXPECT_EQ(format_count(-1234), "-1,234");
}

TEST(ConvertHelpers, ParseSize) {
  EXPECT_EQ(parse_size("5GB"), 5'000'000'000u);
  EXPECT_EQ(parse_size("500MB"), 500'000'000u);
  EXPECT_EQ(parse_size("2GiB"), 2147483648u);
  EXPECT_EQ(parse_size("1.5gb"), 1'500'000'000u);
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("1KB"), 1000u);
  for (const char* bad : {"", "GB", "5XB", "-1GB", "0", "0.1B", "1e3"}) {
    try {
      parse_size(bad);
      ADD_FAILURE() << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--shard-size"), std::string::npos) << e.what();
    }
  }
}

TEST(ConvertHelpers, ShardNames) {
  EXPECT_EQ(shard_name(0, 1), "model.safetensors");
  EXPECT_EQ(shard_name(0, 3), "model-00001-of-00003.safetensors");
  EXPECT_EQ(shard_name(2, 3), "model-00003-of-00003.safetensors");
}

TEST(FormatDetection, SafetensorsWhoseHeaderLengthLooksLikeAPickleProtocol) {
  // A header of 640 bytes starts the file with 0x80 0x02, as a pickle does: still safetensors.
  TempDir dir;
  std::string header = R"({"__metadata__":{"pad":")";
  const std::string tail = R"("},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  header += std::string(640 - header.size() - tail.size(), 'x') + tail;
  ASSERT_EQ(header.size(), 640u);
  januskit::test::Bytes data = {0, 0, 0x80, 0x3F};  // 1.0f
  const januskit::test::Bytes file = januskit::test::make_safetensors(header, data);
  ASSERT_EQ(file[0], 0x80);
  ASSERT_EQ(file[1], 0x02);
  januskit::test::write_bytes(dir / "w.safetensors", file);
  const Checkpoint ckpt = Checkpoint::open_files({dir / "w.safetensors"});
  EXPECT_EQ(ckpt.view("w").item<float>(), 1.0f);
}
