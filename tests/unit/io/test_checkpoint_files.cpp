// Files written by torch.save and safetensors (fixture `checkpoints`, tests/reference/make_checkpoints.py):
// every tensor januskit reads equals the original bit for bit, views share storage as they did in
// Python, model folders are found as documented, and every broken input is an error naming the file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "io/mapped_tensor.hpp"
#include "io/model_dir.hpp"
#include "io/safetensors.hpp"
#include "io/torch_zip.hpp"
#include "io_test_util.hpp"
#include "test_util.hpp"

using namespace januskit;
using namespace januskit::io;
using januskit::test::expect_error;
using januskit::test::fixture_dir;
using januskit::test::read_bytes;
namespace fs = std::filesystem;

namespace {

fs::path fixtures() { return fixture_dir("checkpoints"); }

nlohmann::json load_json(const fs::path& p) { return read_json_file(p); }

// The tensor's logical (row-major) bytes.
std::vector<uint8_t> bytes_of(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const auto* p = static_cast<const uint8_t*>(c.data_ptr());
  return std::vector<uint8_t>(p, p + c.nbytes());
}

void expect_matches_originals(const Checkpoint& ckpt, bool check_views) {
  const fs::path dir = fixtures() / "roundtrip";
  const nlohmann::json expected = load_json(dir / "expected.json");
  ASSERT_EQ(ckpt.size(), expected.size());
  std::map<int, const void*> group_storage;
  for (const auto& [name, e] : expected.items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(ckpt.contains(name));
    const at::Tensor t = ckpt.view(name);
    EXPECT_EQ(short_dtype_name(t.scalar_type()), e["dtype"].get<std::string>());
    EXPECT_EQ(t.sizes().vec(), e["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(ckpt.info(name).shape, e["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(bytes_of(t), read_bytes(dir / e["file"].get<std::string>())) << "bytes differ";
    if (!check_views) continue;
    // As saved: same storage offset and strides, and tensors that shared a storage share one here.
    EXPECT_EQ(t.storage_offset(), e["storage_offset"].get<int64_t>());
    if (t.numel() > 0) {
      EXPECT_EQ(t.strides().vec(), e["stride"].get<std::vector<int64_t>>());
    }
    const int group = e["storage_group"].get<int>();
    const void* storage = t.storage().data();
    auto [it, first] = group_storage.emplace(group, storage);
    if (!first) {
      EXPECT_EQ(it->second, storage) << "should share storage group " << group;
    }
  }
  // Different groups are different storages.
  std::set<const void*> distinct;
  for (const auto& [g, p] : group_storage) distinct.insert(p);
  if (check_views) {
    EXPECT_EQ(distinct.size(), group_storage.size());
  }
}

}  // namespace

TEST(TorchZipFiles, EveryTensorBitExactWithViewsAsSaved) {
  for (const char* file : {"state.pt", "state_p4.pt", "zip64_local.pt", "zip64_full.pt"}) {
    SCOPED_TRACE(file);
    expect_matches_originals(Checkpoint::open_files({fixtures() / "roundtrip" / file}), /*check_views=*/true);
  }
}

TEST(SafetensorsFilesFromPython, EveryTensorBitExact) {
  const Checkpoint ckpt = Checkpoint::open_files({fixtures() / "roundtrip" / "state.safetensors"});
  expect_matches_originals(ckpt, /*check_views=*/false);
  const SafetensorsFile f = SafetensorsFile::open(fixtures() / "roundtrip" / "state.safetensors");
  EXPECT_EQ(f.metadata().at("source"), "januskit fixture");
}

TEST(TorchZipFiles, SharedViewsPointIntoOneMapping) {
  const TorchZipFile f = TorchZipFile::open(fixtures() / "roundtrip" / "state.pt");
  const uint8_t* base = f.mapping()->data();
  const uint64_t size = f.mapping()->size();
  std::map<std::string, at::Tensor> views;
  for (size_t i = 0; i < f.tensors().size(); ++i) views[f.tensors()[i].name] = f.view(i);
  const at::Tensor& a = views.at("shared.a");
  const at::Tensor& b = views.at("shared.b");
  const at::Tensor& c = views.at("shared.c");
  EXPECT_EQ(a.storage().data(), b.storage().data());
  EXPECT_EQ(a.storage().data(), c.storage().data());
  EXPECT_EQ(static_cast<const float*>(b.data_ptr()) - static_cast<const float*>(a.data_ptr()), 5);
  EXPECT_EQ(static_cast<const float*>(c.data_ptr()) - static_cast<const float*>(a.data_ptr()), 10);
  for (const auto& [name, t] : views) {
    if (t.numel() == 0) continue;
    const auto* p = static_cast<const uint8_t*>(t.data_ptr());
    EXPECT_TRUE(p >= base && p < base + size) << name << " is not a view of the mapping";
  }
  // Overlapping views really alias: they read the same floats at the same addresses.
  EXPECT_TRUE(at::equal(a.slice(0, 5, 8), b.slice(0, 0, 3)));
  const at::Tensor t = views.at("transposed");
  EXPECT_FALSE(t.is_contiguous());
}

TEST(TorchZipFiles, NestedDictsAreUnwrappedOrFlattened) {
  const fs::path dir = fixtures() / "nested";
  const nlohmann::json expected = load_json(dir / "expected.json");
  for (const auto& [file, e] : expected.items()) {
    SCOPED_TRACE(file);
    const Checkpoint ckpt = Checkpoint::open_files({dir / file});
    EXPECT_EQ(ckpt.names(), e["names"].get<std::vector<std::string>>());
    for (const auto& [name, values] : e["values"].items()) {
      const at::Tensor t = ckpt.view(name).reshape({-1});
      const auto want = values.get<std::vector<float>>();
      ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size())) << name;
      for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(t[static_cast<int64_t>(i)].item<float>(), want[i]) << name;
    }
  }
}

TEST(BrokenFiles, EachIsAnErrorNamingTheFileAndTheProblem) {
  const fs::path dir = fixtures() / "bad";
  const nlohmann::json expected = load_json(dir / "expected.json");
  EXPECT_GE(expected.size(), 30u);
  for (const auto& [file, needles] : expected.items()) {
    SCOPED_TRACE(file);
    const fs::path path = dir / file;
    const std::string msg = expect_error([&] { Checkpoint::open_files({path}); }, {path.string() + ": "});
    for (const auto& n : needles) {
      EXPECT_NE(msg.find(n.get<std::string>()), std::string::npos) << "missing '" << n.get<std::string>() << "' in: " << msg;
    }
  }
}

TEST(ModelFolders, ShardedSafetensorsWithSixDigitNames) {
  const ModelDir m = ModelDir::open(fixtures() / "models" / "st_sharded");
  EXPECT_EQ(m.config["model_type"], "qwen2");
  ASSERT_TRUE(m.tokenizer_json && m.tokenizer_config_json && m.generation_config_json);
  EXPECT_FALSE(m.special_tokens_map_json.has_value());
  ASSERT_TRUE(m.weight_index.has_value());
  EXPECT_EQ(m.weight_index->filename(), "model.safetensors.index.json");
  ASSERT_EQ(m.weight_files.size(), 3u);
  EXPECT_EQ(m.weight_files[2].filename(), "model-00003-of-000003.safetensors");
  const Checkpoint ckpt = m.open_checkpoint();
  EXPECT_EQ(ckpt.size(), 27u);
  EXPECT_EQ(ckpt.info("lm_head.weight").dtype, at::kBFloat16);
  EXPECT_EQ(ckpt.info("lm_head.weight").file.filename(), "model-00003-of-000003.safetensors");
}

TEST(ModelFolders, TorchFilesSingleAndSharded) {
  const Checkpoint single = ModelDir::open(fixtures() / "models" / "bin_single").open_checkpoint();
  EXPECT_EQ(single.info("gen_vision_model.quantize.codebook_used").dtype, at::kLong);
  const ModelDir sharded = ModelDir::open(fixtures() / "models" / "bin_sharded");
  EXPECT_EQ(sharded.weight_files.size(), 2u);
  const Checkpoint ckpt = sharded.open_checkpoint();
  const Checkpoint reference = ModelDir::open(fixtures() / "models" / "st_sharded").open_checkpoint();
  ASSERT_EQ(ckpt.names(), reference.names());
  for (const std::string& name : ckpt.names()) EXPECT_TRUE(at::equal(ckpt.view(name), reference.view(name))) << name;
}

TEST(ModelFolders, SafetensorsArePreferredOverTorchFiles) {
  const ModelDir m = ModelDir::open(fixtures() / "models" / "both_formats");
  ASSERT_EQ(m.weight_files.size(), 1u);
  EXPECT_EQ(m.weight_files[0].filename(), "model.safetensors");
}

TEST(ModelFolders, BrokenFoldersNameTheFileAndTheProblem) {
  const fs::path dir = fixtures() / "models";
  auto open = [&](const char* name) { return [=] { ModelDir::open(dir / name).open_checkpoint(); }; };
  expect_error(open("missing_shard"), {"model-00002-of-000002.safetensors", "missing shard", "model.safetensors.index.json"});
  expect_error(open("no_weights"), {(dir / "no_weights").string(), "no weights found", "pytorch_model*.bin"});
  expect_error(open("no_config"), {"config.json", "not found"});
  expect_error(open("bad_config"), {"config.json", "invalid JSON"});
  expect_error(open("index_mismatch"), {"model.safetensors.index.json", "model.layers.9.mlp.up_proj.weight", "does not hold it"});
  expect_error(open("two_safetensors"), {"a.safetensors, b.safetensors", "no model.safetensors.index.json"});
  expect_error(open("duplicate_tensor"), {"is also in"});
  expect_error(open("bad_shard"), {"model-00002-of-000002.safetensors", "truncated"});
  expect_error(open("evil_index"), {"../../etc/passwd", "not a file inside the model folder"});
  expect_error(open("does_not_exist"), {"does_not_exist", "no such folder"});
  expect_error([&] { ModelDir::open(dir / "bin_single" / "config.json"); }, {"is not a folder"});
}

TEST(ModelFolders, JanusLikeLoadWithDeclaredIgnores) {
  const Checkpoint ckpt = ModelDir::open(fixtures() / "models" / "bin_single").open_checkpoint();
  {
    WeightLoader w(ckpt, at::kFloat, at::Device(at::kCPU));
    for (const std::string& name : ckpt.names()) {
      if (name.find("attn_pool") == std::string::npos && name.find("codebook_used") == std::string::npos) w.take(name);
    }
    expect_error([&] { w.finish(); }, {"bin_single/pytorch_model.bin", "2 unused", "vision_model.vision_tower.attn_pool.latent",
                                       "gen_vision_model.quantize.codebook_used [16]"});
    w.ignore("vision_model.vision_tower.attn_pool.*");
    w.ignore("*.codebook_used");
    EXPECT_NO_THROW(w.finish());
  }
  WeightLoader w(ckpt, at::kFloat, at::Device(at::kCPU));
  const at::Tensor embed = w.take("language_model.model.embed_tokens.weight", {32, 8});
  EXPECT_EQ(embed.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(embed, ckpt.view("language_model.model.embed_tokens.weight").to(at::kFloat)));
  EXPECT_FALSE(w.take("language_model.lm_head.weight", {32, 16}).defined());
  expect_error([&] { w.finish(); }, {"wrong shape: language_model.lm_head.weight is [32, 8] in pytorch_model.bin, the model expects [32, 16]"});
}
