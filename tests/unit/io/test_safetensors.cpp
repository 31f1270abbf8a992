// safetensors: header validation on bytes built here, and writer -> reader round trips.
#include <gtest/gtest.h>

#include "io/mapped_tensor.hpp"
#include "io/safetensors.hpp"
#include "io_test_util.hpp"

using namespace januskit;
using namespace januskit::io;
using januskit::test::Bytes;
using januskit::test::expect_error;
using januskit::test::make_safetensors;
using januskit::test::TempDir;

namespace {

SafetensorsHeader parse(const Bytes& b) { return parse_safetensors_header(b, "w.safetensors"); }

bool same_bytes(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ca = a.contiguous(), cb = b.contiguous();
  return ca.nbytes() == cb.nbytes() && std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

}  // namespace

TEST(SafetensorsHeader, ParsesEntriesMetadataAndLayout) {
  const Bytes b = make_safetensors(
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[16,28]},)"
      R"("a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"s":{"dtype":"F32","shape":[],"data_offsets":[28,32]},)"
      R"("e":{"dtype":"F16","shape":[0,4],"data_offsets":[32,32]}})",
      Bytes(32));
  const SafetensorsHeader h = parse(b);
  EXPECT_EQ(h.data_offset % 8, 0u);
  EXPECT_EQ(h.data_size, 32u);
  EXPECT_EQ(h.metadata.at("format"), "pt");
  ASSERT_EQ(h.tensors.size(), 4u);
  EXPECT_EQ(h.tensors[0].name, "a");  // sorted by position
  EXPECT_EQ(h.tensors[1].name, "b");
  EXPECT_EQ(h.tensors[1].dtype, DType::BF16);
  EXPECT_EQ(h.tensors[1].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(h.tensors[2].shape.empty());
  EXPECT_EQ(h.tensors[3].begin, h.tensors[3].end);
}

TEST(SafetensorsHeader, KnowsEveryDtypeOfTheFormat) {
  for (const char* name : {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8", "U64", "U32", "U16",
                           "U8", "BOOL"}) {
    const auto dtype = dtype_from_safetensors_name(name);
    ASSERT_TRUE(dtype.has_value()) << name;
    const int size = dtype_size(*dtype);
    const Bytes b = make_safetensors(cat(R"({"t":{"dtype":")", name, R"(","shape":[3],"data_offsets":[0,)", 3 * size, "]}}"),
                                     Bytes(static_cast<size_t>(3 * size)));
    EXPECT_EQ(parse(b).tensors.at(0).dtype, *dtype) << name;
  }
}

TEST(SafetensorsHeader, RejectsBrokenFilesNamingFileAndProblem) {
  const Bytes d16(16);
  struct Case {
    Bytes bytes;
    std::vector<std::string_view> needles;
  };
  Bytes huge;
  januskit::test::put_le(huge, uint64_t{1} << 63, 8);
  januskit::test::append(huge, "{}      ");
  Bytes short_len = make_safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", d16);
  short_len[0] = 0xFF;  // length 255+ > file
  const std::vector<Case> cases = {
      {{}, {"file is empty"}},
      {{1, 2, 3}, {"too short"}},
      {huge, {"over the 100000000-byte limit"}},
      {short_len, {"runs past the end of the file"}},
      {make_safetensors("[1]"), {"does not start with '{'"}},
      {make_safetensors(R"({"a": )"), {"not valid JSON"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                        Bytes(4)),
       {"names tensor 'a' twice"}},
      {make_safetensors(R"({"__metadata__":{"k":[1]}})"), {"__metadata__", "expected a string"}},
      {make_safetensors(R"({"__metadata__":[]})"), {"__metadata__ is not an object"}},
      {make_safetensors(R"({"a":3})"), {"tensor 'a'", "expected an object"}},
      {make_safetensors(R"({"a":{"shape":[4],"data_offsets":[0,16]}})", d16), {"missing \"dtype\""}},
      {make_safetensors(R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})", d16), {"unknown dtype 'Q4'"}},
      {make_safetensors(R"({"a":{"dtype":"F32","data_offsets":[0,16]}})", d16), {"missing \"shape\""}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", d16), {"non-negative integers"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})", d16), {"non-negative integers"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}})", d16), {"overflows"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", d16), {"[begin, end]"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", d16), {"end before they begin"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,24]}})", d16), {"run past the end of the data area"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", d16), {"needs 12 bytes", "hold 16"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        Bytes(12)),
       {"'a' [0, 8] and 'b' [4, 12] overlap"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", Bytes(8)), {"bytes [0, 4)", "no gaps"}},
      {make_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", Bytes(8)), {"trailing bytes"}},
  };
  for (const Case& c : cases) {
    const std::string msg = expect_error([&] { parse(c.bytes); }, {"w.safetensors: "});
    for (std::string_view n : c.needles) EXPECT_NE(msg.find(n), std::string::npos) << "missing '" << n << "' in: " << msg;
  }
}

TEST(SafetensorsHeader, EveryPrefixOfAValidFileIsAnErrorNotACrash) {
  const Bytes full = make_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})",
                                      Bytes(11));
  EXPECT_NO_THROW(parse(full));
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_THROW(parse(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n))), FileError) << n;
  }
}

TEST(SafetensorsHeader, DeeplyNestedJsonIsRejectedWithoutRecursion) {
  std::string header = R"({"__metadata__":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_error([&] { parse(make_safetensors(header)); }, {"__metadata__ is not an object"});
}

class SafetensorsFiles : public ::testing::Test {
 protected:
  TempDir dir;
  std::vector<std::pair<std::string, at::Tensor>> tensors() {
    at::manual_seed(11);
    return {
        {"w.f32", at::randn({3, 5})},
        {"w.bf16", at::randn({4, 2}).to(at::kBFloat16)},
        {"w.f16.t", at::randn({3, 4}).to(at::kHalf).t()},  // non-contiguous input
        {"ids", at::arange(7, at::kLong) * 1000003},
        {"f8", at::randn({5}).to(at::kFloat8_e4m3fn)},
        {"mask", at::tensor({1, 0, 1}, at::kInt).to(at::kBool)},
        {"scalar", at::scalar_tensor(2.5)},
        {"empty", at::empty({0, 3})},
        {"u16", at::tensor({1, 2, 60000}, at::kInt).to(at::kUInt16)},
    };
  }
};

TEST_F(SafetensorsFiles, WriterOutputReadsBackBitExactAndAligned) {
  const auto input = tensors();
  write_safetensors(dir / "t.safetensors", input, {{"format", "pt"}});
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"t.safetensors"});  // no temporary left
  const SafetensorsFile f = SafetensorsFile::open(dir / "t.safetensors");
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_EQ(f.tensors().size(), input.size());
  int last_size = 8;
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const SafetensorsEntry& e = f.tensors()[i];
    const int size = dtype_size(e.dtype);
    EXPECT_LE(size, last_size) << "largest elements first";
    last_size = size;
    EXPECT_EQ(e.begin % static_cast<uint64_t>(size), 0u) << e.name;
    EXPECT_EQ(f.file_range(i).first % static_cast<uint64_t>(size), 0u) << e.name;
    const auto it = std::find_if(input.begin(), input.end(), [&](const auto& p) { return p.first == e.name; });
    ASSERT_NE(it, input.end());
    const at::Tensor v = f.view(i);
    EXPECT_EQ(v.scalar_type(), it->second.scalar_type()) << e.name;
    EXPECT_EQ(v.sizes(), it->second.sizes()) << e.name;
    EXPECT_TRUE(same_bytes(v, it->second)) << e.name;
  }
}

TEST_F(SafetensorsFiles, ViewsKeepTheMappingAliveAndShareIt) {
  const auto input = tensors();
  write_safetensors(dir / "t.safetensors", input);
  at::Tensor ids, w;
  const uint8_t* base = nullptr;
  uint64_t size = 0;
  {
    const SafetensorsFile f = SafetensorsFile::open(dir / "t.safetensors");
    base = f.mapping()->data();
    size = f.mapping()->size();
    for (size_t i = 0; i < f.tensors().size(); ++i) {
      if (f.tensors()[i].name == "ids") ids = f.view(i);
      if (f.tensors()[i].name == "w.f32") w = f.view(i);
    }
  }
  // The file object is gone; the views still read the mapping, and both sit in the same one.
  EXPECT_EQ(ids.storage().data(), w.storage().data());
  const auto* p = static_cast<const uint8_t*>(ids.data_ptr());
  EXPECT_TRUE(p >= base && p + ids.nbytes() <= base + size);
  EXPECT_TRUE(same_bytes(ids, input[3].second));
  EXPECT_TRUE(same_bytes(w, input[0].second));
}

TEST_F(SafetensorsFiles, FailedWritesLeaveNothingBehind) {
  {
    SafetensorsWriter w(dir / "x.safetensors", {TensorSpec{"a", DType::F32, {2}}, TensorSpec{"b", DType::F32, {2}}});
    w.write("a", at::zeros({2}));
    expect_error([&] { w.write("b", at::zeros({3})); }, {"x.safetensors", "tensor 'b'", "[3]", "planned"});
    expect_error([&] { w.write("a", at::zeros({2})); }, {"written twice"});
    expect_error([&] { w.commit(); }, {"tensor 'b' was never written"});
  }
  EXPECT_TRUE(dir.listing().empty());
  expect_error([&] { write_safetensors(dir / "y.safetensors", {{"c", at::zeros({2}, at::kComplexFloat)}}); },
               {"y.safetensors", "cannot store"});
  EXPECT_TRUE(dir.listing().empty());
}

TEST_F(SafetensorsFiles, ReplacesAnExistingFileAtomically) {
  write_safetensors(dir / "t.safetensors", {{"a", at::ones({2})}});
  write_safetensors(dir / "t.safetensors", {{"b", at::zeros({3})}});
  const SafetensorsFile f = SafetensorsFile::open(dir / "t.safetensors");
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.tensors()[0].name, "b");
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"t.safetensors"});
}

TEST_F(SafetensorsFiles, ReadsMisalignedTensors) {
  // An unpadded header puts the data area at an odd offset; views must still read the right bytes.
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  Bytes data = {7};
  const float values[2] = {1.5f, -2.25f};
  data.insert(data.end(), reinterpret_cast<const uint8_t*>(values), reinterpret_cast<const uint8_t*>(values) + 8);
  januskit::test::write_bytes(dir / "odd.safetensors", make_safetensors(header, data, /*pad=*/false));
  const SafetensorsFile f = SafetensorsFile::open(dir / "odd.safetensors");
  const at::Tensor b = f.view(1);
  EXPECT_EQ(b[0].item<float>(), 1.5f);
  EXPECT_EQ(b[1].item<float>(), -2.25f);
}
