// The restricted unpickler on hand-written pickles: what state dicts use works, everything else is
// refused with the global or opcode named, and hostile structures stay bounded.
#include <gtest/gtest.h>

#include "io/pickle.hpp"
#include "io_test_util.hpp"

using namespace januskit;
using namespace januskit::io;
using januskit::test::expect_error;
using januskit::test::PickleBuilder;

namespace {

StateDictPickle parse(const PickleBuilder& p) { return read_state_dict_pickle(p.bytes(), "ckpt.bin"); }
StateDictPickle parse(const std::vector<uint8_t>& b) { return read_state_dict_pickle(b, "ckpt.bin"); }

// {"a": view [0:4], "b": view [2:6] of one FloatStorage of 6, "c": a 2x3 LongStorage viewed transposed}
PickleBuilder two_views_and_a_transpose() {
  PickleBuilder p;
  p.ordered_dict().op({'('});
  p.str("a").tensor("0", "FloatStorage", 6, 0, {4}, {1});
  p.str("b").tensor("0", "FloatStorage", 6, 2, {4}, {1});
  p.str("c").tensor("1", "LongStorage", 6, 0, {3, 2}, {1, 3});
  p.op({'u', '.'});
  return p;
}

}  // namespace

TEST(Pickle, ReadsViewsSharingAStorage) {
  const StateDictPickle sd = parse(two_views_and_a_transpose());
  ASSERT_EQ(sd.tensors.size(), 3u);
  ASSERT_EQ(sd.storages.size(), 2u);
  EXPECT_EQ(sd.storages[0].key, "0");
  EXPECT_EQ(sd.storages[0].dtype, DType::F32);
  EXPECT_EQ(sd.storages[0].numel, 6u);
  EXPECT_EQ(sd.storages[1].dtype, DType::I64);
  const PickledTensor& a = sd.tensors[0];
  const PickledTensor& b = sd.tensors[1];
  const PickledTensor& c = sd.tensors[2];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(b.name, "b");
  EXPECT_EQ(a.storage, b.storage);
  EXPECT_EQ(b.offset, 2);
  EXPECT_EQ(b.extent_bytes(), 24u);
  EXPECT_EQ(c.sizes, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(c.strides, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(c.dtype, DType::I64);
  EXPECT_EQ(c.extent_bytes(), 48u);
}

TEST(Pickle, EveryPrefixOfAValidPickleIsAnErrorNotACrash) {
  const auto full = two_views_and_a_transpose().bytes();
  for (size_t n = 0; n < full.size(); ++n) {
    const std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse(prefix), FileError) << "prefix of " << n << " bytes";
  }
  EXPECT_NO_THROW(parse(full));
}

TEST(Pickle, RefusesOsSystem) {
  PickleBuilder p;
  p.global("os", "system").str("echo pwned").op({0x85, 'R', '.'});
  expect_error([&] { parse(p); }, {"ckpt.bin: ", "refusing to load", "os.system", "only state_dict checkpoints"});
}

TEST(Pickle, RefusesBuiltinsEvalThroughStackGlobal) {
  PickleBuilder p(4);
  p.op({0x8c, 8}).raw("builtins").op({0x94, 0x8c, 4}).raw("eval").op({0x94, 0x93, 0x94}).op({'.'});
  expect_error([&] { parse(p); }, {"refusing to load", "builtins.eval"});
}

TEST(Pickle, RefusesTorchGlobalsOutsideTheList) {
  for (auto [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"torch._utils", "_rebuild_qtensor"}, {"torch.nn.modules.linear", "Linear"}, {"torch", "load"},
           {"__builtin__", "getattr"}, {"collections", "defaultdict"}}) {
    PickleBuilder p;
    p.global(module, name).op({'.'});
    expect_error([&] { parse(p); }, {"refusing to load", module + "." + name});
  }
}

TEST(Pickle, RefusesAGlobalAfterRealTensors) {
  PickleBuilder p;
  p.ordered_dict().op({'('}).str("w").tensor("0", "FloatStorage", 4, 0, {4}, {1});
  p.str("x").global("posix", "system").op({')', 'R', 'u', '.'});
  expect_error([&] { parse(p); }, {"posix.system"});
}

TEST(Pickle, NamesUnsupportedOpcodes) {
  for (auto [op, name] : std::vector<std::pair<uint8_t, std::string>>{
           {0x81, "NEWOBJ"}, {'i', "INST"}, {'B', "BINBYTES"}, {'2', "DUP"}, {0x8f, "EMPTY_SET"}, {0xfe, "unknown"}}) {
    PickleBuilder p;
    p.op({op});
    expect_error([&] { parse(p); }, {"unsupported pickle opcode", name});
  }
}

TEST(Pickle, RejectsOtherProtocols) {
  expect_error([] { parse(std::vector<uint8_t>{0x80, 6, 'N', '.'}); }, {"pickle protocol 6"});
  expect_error([] { parse(std::vector<uint8_t>{0x80, 1, 'N', '.'}); }, {"pickle protocol 1"});
}

TEST(Pickle, RootMustBeADict) {
  PickleBuilder p;
  p.tensor("0", "FloatStorage", 2, 0, {2}, {1}).op({'.'});
  expect_error([&] { parse(p); }, {"holds a tensor, not a dict"});
  PickleBuilder q;
  q.op({']', '.'});
  expect_error([&] { parse(q); }, {"holds a list"});
}

TEST(Pickle, MemoReadBeforeWriteIsAnError) {
  PickleBuilder p;
  p.op({'h', 7, '.'});
  expect_error([&] { parse(p); }, {"memo entry 7 is read before it is written"});
}

TEST(Pickle, UnwrapsASingleNestedStateDictAndSkipsOtherValues) {
  // {"state_dict": {"w": t}, "epoch": 3, "name": "x"}
  PickleBuilder p;
  p.op({'}', '('}).str("state_dict").op({'}', '('}).str("w").tensor("0", "FloatStorage", 2, 0, {2}, {1}).op({'u'});
  p.str("epoch").i32(3).str("name").str("x").op({'u', '.'});
  const StateDictPickle sd = parse(p);
  ASSERT_EQ(sd.tensors.size(), 1u);
  EXPECT_EQ(sd.tensors[0].name, "w");
  EXPECT_EQ(sd.unwrapped, "state_dict");
}

TEST(Pickle, FlattensSeveralNestedDictsWithDots) {
  // {"enc": {"w": t}, "dec": {"inner": {0: t}}, "step": 1}
  PickleBuilder p;
  p.op({'}', '('}).str("enc").op({'}'}).str("w").tensor("0", "FloatStorage", 2, 0, {2}, {1}).op({'s'});
  p.str("dec").op({'}'}).str("inner").op({'}'}).i32(0).tensor("0", "FloatStorage", 2, 1, {1}, {1}).op({'s', 's'});
  p.str("step").i32(1).op({'u', '.'});
  const StateDictPickle sd = parse(p);
  ASSERT_EQ(sd.tensors.size(), 2u);
  EXPECT_EQ(sd.tensors[0].name, "enc.w");
  EXPECT_EQ(sd.tensors[1].name, "dec.inner.0");
  ASSERT_EQ(sd.skipped.size(), 1u);
  EXPECT_EQ(sd.skipped[0], "step");
}

TEST(Pickle, DuplicateNamesAfterFlatteningAreAnError) {
  PickleBuilder p;
  p.op({'}', '('}).str("a.b").tensor("0", "FloatStorage", 2, 0, {2}, {1});
  p.str("a").op({'}'}).str("b").tensor("0", "FloatStorage", 2, 0, {2}, {1}).op({'s', 'u', '.'});
  expect_error([&] { parse(p); }, {"two tensors are both named 'a.b'"});
}

TEST(Pickle, Latin1StringsBecomeUtf8) {
  PickleBuilder p;
  p.op({'}', 'U', 2, 0xE9, 'w'}).tensor("0", "FloatStorage", 1, 0, {1}, {1}).op({'s', '.'});
  EXPECT_EQ(parse(p).tensors.at(0).name, "\xC3\xA9w");
}

TEST(Pickle, RejectsInvalidUtf8) {
  PickleBuilder p;
  p.op({'}', 'X', 2, 0, 0, 0, 0xC3, 0x28, 'N', 's', '.'});
  expect_error([&] { parse(p); }, {"not valid UTF-8"});
  PickleBuilder surrogate;
  surrogate.op({'}', 'X', 3, 0, 0, 0, 0xED, 0xA0, 0x80, 'N', 's', '.'});
  expect_error([&] { parse(surrogate); }, {"not valid UTF-8"});
}

TEST(Pickle, Long1Integers) {
  // numel as a 5-byte LONG1 (4294967296 + 2 elements would not fit a BININT), offset negative LONG1 -> error
  PickleBuilder p;
  p.op({'}'}).str("w").global("torch._utils", "_rebuild_tensor_v2").op({'(', '('}).str("storage").global("torch", "ByteStorage");
  p.str("0").str("cpu").op({0x8a, 5, 2, 0, 0, 0, 1, 't', 'Q'}).i32(0).ints({2}).ints({1}).op({0x89}).ordered_dict();
  p.op({'t', 'R', 's', '.'});
  EXPECT_EQ(parse(p).storages.at(0).numel, 4294967298u);
  PickleBuilder big;
  big.op({0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, '.'});
  expect_error([&] { parse(big); }, {"does not fit in 64 bits"});
}

TEST(Pickle, TensorOutsideItsStorageIsAnError) {
  PickleBuilder p;
  p.op({'}'}).str("w").tensor("0", "FloatStorage", 4, 2, {2, 2}, {2, 1}).op({'s', '.'});
  expect_error([&] { parse(p); }, {"reaches byte 24", "holds 16"});
}

TEST(Pickle, EmptyTensorMayHaveAnyOffset) {
  PickleBuilder p;
  p.op({'}'}).str("w").tensor("0", "FloatStorage", 0, 5, {0, 3}, {3, 1}).op({'s', '.'});
  const StateDictPickle sd = parse(p);
  EXPECT_EQ(sd.tensors.at(0).numel(), 0u);
  EXPECT_EQ(sd.tensors.at(0).extent_bytes(), 0u);
}

TEST(Pickle, MalformedRebuildCalls) {
  PickleBuilder wrong_count;
  wrong_count.op({'}'}).str("w").global("torch._utils", "_rebuild_tensor_v2").op({'(', 'N', 't', 'R', 's', '.'});
  expect_error([&] { parse(wrong_count); }, {"_rebuild_tensor_v2 called with 1 arguments"});
  PickleBuilder negative;
  negative.op({'}'}).str("w").tensor("0", "FloatStorage", 4, 0, {-1}, {1}).op({'s', '.'});
  expect_error([&] { parse(negative); }, {"tensor size holds something other than a non-negative int"});
  PickleBuilder ranks;
  ranks.op({'}'}).str("w").tensor("0", "FloatStorage", 4, 0, {2, 2}, {1}).op({'s', '.'});
  expect_error([&] { parse(ranks); }, {"size and stride differ in length"});
  PickleBuilder overflow;
  overflow.op({'}'}).str("w").tensor("0", "FloatStorage", 4, 0, {2147483647, 2147483647, 2147483647}, {1, 1, 1}).op({'s', '.'});
  expect_error([&] { parse(overflow); }, {"overflows"});
}

TEST(Pickle, StorageKeysMustBePlainAndConsistent) {
  PickleBuilder slash;
  slash.op({'}'}).str("w").tensor("../0", "FloatStorage", 4, 0, {4}, {1}).op({'s', '.'});
  expect_error([&] { parse(slash); }, {"is not a plain name"});
  PickleBuilder twice;
  twice.op({'}'}).str("a").tensor("0", "FloatStorage", 4, 0, {4}, {1}).op({'s'});
  twice.str("b").tensor("0", "HalfStorage", 4, 0, {4}, {1}).op({'s', '.'});
  expect_error([&] { parse(twice); }, {"storage '0' is described twice"});
}

TEST(Pickle, SelfReferencesDoNotHangOrLeak) {
  // A list holding itself as a dict value is skipped; a dict holding itself is bounded by nesting.
  PickleBuilder list;
  list.op({'}', 'X', 1, 0, 0, 0, 'l', ']', 'q', 0, 'h', 0, 'a', 's', '.'});
  EXPECT_EQ(parse(list).skipped, (std::vector<std::string>{"l"}));
  PickleBuilder dict;
  dict.op({'}', 'q', 0}).str("w").tensor("0", "FloatStorage", 1, 0, {1}, {1}).op({'s'});
  dict.str("me").op({'h', 0, 's', '.'});
  expect_error([&] { parse(dict); }, {"nest deeper than 64"});
}

TEST(Pickle, DeepNestingIsBoundedNotRecursive) {
  // 200000 nested 1-tuples (no recursion anywhere: values live in arenas), then 100 nested dicts.
  PickleBuilder tuples;
  tuples.op({'}'}).str("t").op({'N'});
  for (int i = 0; i < 200000; ++i) tuples.op({0x85});
  tuples.op({'s', '.'});
  EXPECT_EQ(parse(tuples).skipped.size(), 1u);
  PickleBuilder dicts;
  dicts.op({'}'});
  for (int i = 0; i < 100; ++i) dicts.str("d").op({'}'});
  dicts.str("w").tensor("0", "FloatStorage", 1, 0, {1}, {1}).op({'s'});
  for (int i = 0; i < 100; ++i) dicts.op({'s'});
  dicts.op({'.'});
  expect_error([&] { parse(dicts); }, {"nest deeper than 64"});
}

TEST(Pickle, ExponentiallySharedSubtreesAreBounded) {
  // d0 = {"w": t}; d(i+1) = {"a": d(i), "b": d(i)}: 2^40 paths from ~1 kB of pickle.
  PickleBuilder p;
  p.op({'}'}).str("w").tensor("0", "FloatStorage", 1, 0, {1}, {1}).op({'s', 'r', 0, 0, 0, 0});
  for (uint32_t i = 0; i < 40; ++i) {
    p.op({'}'}).str("a").op({'j'});
    januskit::test::Bytes idx;
    januskit::test::put_le(idx, i, 4);
    p.op({idx[0], idx[1], idx[2], idx[3], 's'}).str("b").op({'j', idx[0], idx[1], idx[2], idx[3], 's'});
    januskit::test::put_le(idx, i + 1, 4);
    p.op({'r', idx[4], idx[5], idx[6], idx[7]});
  }
  p.op({'.'});
  expect_error([&] { parse(p); }, {"too"});
}

TEST(Pickle, RebuildV3ParametersAndFromTypeV2) {
  // _rebuild_parameter(_rebuild_tensor_v3(UntypedStorage(6 bytes), 0, (3,), (1,), False, {}, torch.uint16), False, {})
  PickleBuilder p;
  p.op({'}'}).str("p").global("torch._utils", "_rebuild_parameter").op({'('});
  p.global("torch._utils", "_rebuild_tensor_v3").op({'(', '('}).str("storage").global("torch.storage", "UntypedStorage");
  p.str("0").str("cpu").i32(6).op({'t', 'Q'}).i32(0).ints({3}).ints({1}).op({0x89, '}'}).global("torch", "uint16");
  p.op({'t', 'R', 0x89, '}', 't', 'R', 's'});
  // _rebuild_from_type_v2(_rebuild_tensor_v2, torch.Tensor, (...), {"note": 1}) with a BUILD on the tensor
  p.str("attr").global("torch._tensor", "_rebuild_from_type_v2").op({'('}).global("torch._utils", "_rebuild_tensor_v2");
  p.global("torch", "Tensor").op({'(', '('}).str("storage").global("torch", "HalfStorage").str("1").str("cpu").i32(2);
  p.op({'t', 'Q'}).i32(0).ints({2}).ints({1}).op({0x89}).ordered_dict().op({'t', '}', 't', 'R', '}', 'b', 's', '.'});
  const StateDictPickle sd = parse(p);
  ASSERT_EQ(sd.tensors.size(), 2u);
  EXPECT_EQ(sd.tensors[0].name, "p");
  EXPECT_EQ(sd.tensors[0].dtype, DType::U16);
  EXPECT_EQ(sd.storages[0].dtype, DType::U8);
  EXPECT_EQ(sd.tensors[0].extent_bytes(), 6u);
  EXPECT_EQ(sd.tensors[1].name, "attr");
  EXPECT_EQ(sd.tensors[1].dtype, DType::F16);
}

TEST(Pickle, CallingATypeOrStorageIsRefused) {
  PickleBuilder p;
  p.op({'}'}).str("w").global("torch", "FloatStorage").op({')', 'R', 's', '.'});
  expect_error([&] { parse(p); }, {"a state_dict pickle never does"});
}

TEST(Pickle, FrameAndMemoizeOfProtocol4) {
  // PROTO 4, FRAME n, an empty dict memoized, BINGET of it, STOP.
  PickleBuilder p(4);
  p.op({0x95, 5, 0, 0, 0, 0, 0, 0, 0, '}', 0x94, '0', 'h', 0, '.'});
  EXPECT_TRUE(parse(p).tensors.empty());
  PickleBuilder bad(4);
  bad.op({0x95, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, '}', '.'});
  expect_error([&] { parse(bad); }, {"FRAME of"});
}
