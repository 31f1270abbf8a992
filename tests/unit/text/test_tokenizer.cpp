// Tokenizer behaviour on a small tokenizer built in the test: encode/decode basics, token lookup
// by string, the streaming decoder on characters split across tokens, regex translation and
// iteration, UTF-8 handling, and bad input (every load error names the file).
#include <gtest/gtest.h>

#include <thread>

#include "core/error.hpp"
#include "text/normalizer.hpp"
#include "text/regex.hpp"
#include "text/tokenizer.hpp"
#include "text/unicode_additions.hpp"
#include "text/utf8.hpp"
#include "tiny_tokenizer.hpp"

using namespace januskit;
using namespace januskit::text;
using nlohmann::json;

namespace {

class TinyTokenizer : public testing::Test {
 protected:
  void SetUp() override { tok_ = std::make_unique<Tokenizer>(Tokenizer::load(dir_.write("tokenizer.json", test::tiny_tokenizer_json().dump()))); }
  const Tokenizer& tok() const { return *tok_; }
  test::TempDir dir_;
  std::unique_ptr<Tokenizer> tok_;
};

std::vector<int32_t> bytes_of(std::string_view s) {
  std::vector<int32_t> ids;
  for (unsigned char c : s) ids.push_back(c);  // ids 0..255 are the single bytes
  return ids;
}

std::string streamed(const Tokenizer& tok, const std::vector<int32_t>& ids, std::vector<std::string>* chunks = nullptr,
                     bool skip = false) {
  StreamingDecoder stream(tok, skip);
  std::string all;
  for (int32_t id : ids) {
    std::string chunk = stream.push(id);
    EXPECT_TRUE(utf8::is_valid(chunk)) << "chunk is not valid UTF-8";
    if (chunks) chunks->push_back(chunk);
    all += chunk;
  }
  std::string rest = stream.finish();
  if (chunks) chunks->push_back(rest);
  return all + rest;
}

TEST_F(TinyTokenizer, EncodesWithMergesAndAddedTokens) {
  EXPECT_EQ(tok().encode("hello"), (std::vector<int32_t>{259}));
  EXPECT_EQ(tok().encode("hello world"), (std::vector<int32_t>{259, 260, 'o', 'r', 'l', 'd'}));
  int32_t think = tok().require_token_id("<think>");
  EXPECT_EQ(tok().encode("<think>hello"), (std::vector<int32_t>{think, 259}));
  EXPECT_EQ(tok().decode(tok().encode("<think>hello world")), "<think>hello world");
  EXPECT_EQ(tok().encode(""), std::vector<int32_t>{});
  EXPECT_EQ(tok().vocab_size(), 266u);
}

TEST_F(TinyTokenizer, LooksTokensUpByString) {
  EXPECT_EQ(tok().token_id("<｜end▁of▁sentence｜>"), 264);
  EXPECT_EQ(tok().token_id("Ġw"), 260);
  EXPECT_EQ(tok().token_id("<nope>"), std::nullopt);
  EXPECT_EQ(tok().id_to_token(260), "Ġw");
  EXPECT_EQ(tok().id_to_token(32), "Ġ");
  EXPECT_TRUE(tok().is_special(264));
  EXPECT_FALSE(tok().is_special(265));  // <think> is an added, non-special token here
  EXPECT_FALSE(tok().is_special(259));
  EXPECT_THROW(tok().id_to_token(266), Error);
  EXPECT_THROW(tok().id_to_token(-1), Error);
  try {
    tok().require_token_id("<nope>");
    FAIL();
  } catch (const FileError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("<nope>"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
  }
}

TEST_F(TinyTokenizer, DecodeSkipsSpecialTokensAndUnknownIds) {
  std::vector<int32_t> ids = {259, 264, 265, 99999, -5};
  EXPECT_EQ(tok().decode(ids), "hello<｜end▁of▁sentence｜><think>");
  EXPECT_EQ(tok().decode(ids, true), "hello<think>");
}

TEST_F(TinyTokenizer, NoBosFromAByteLevelPostProcessor) {
  EXPECT_EQ(tok().encode("hello", SpecialTokens::tokenizer_json), (std::vector<int32_t>{259}));
}

TEST_F(TinyTokenizer, StreamingHoldsBackIncompleteCharacters) {
  // "é" (C3 A9), "€" (E2 82 AC), "😀" (F0 9F 98 80), "你" (E4 BD A0), each byte its own token.
  std::string text = "aé€😀你!";
  std::vector<std::string> chunks;
  EXPECT_EQ(streamed(tok(), bytes_of(text), &chunks), text);
  std::vector<std::string> expected = {"a", "", "é", "", "", "€", "", "", "", "😀", "", "", "你", "!", ""};
  EXPECT_EQ(chunks, expected);
}

TEST_F(TinyTokenizer, StreamingReplacesInvalidBytesExactlyAsDecode) {
  const std::vector<std::string> cases = {
      "\xFF",                  // never valid
      "a\xC3",                 // truncated at the end: one U+FFFD at finish
      "\xE2\x82" "a",          // truncated in the middle: one U+FFFD for the maximal subpart
      "\xF0\x9F\x98",          // truncated 4-byte sequence
      "\xED\xA0\x80",          // a surrogate: three replacements
      "\xC0\xAF",              // overlong
      "\xF4\x90\x80\x80",      // above U+10FFFF
      "ok\x80\x80ok\xF0\x9F",  // stray continuations, then truncated
  };
  for (const std::string& bytes : cases) {
    std::vector<int32_t> ids = bytes_of(bytes);
    std::string decoded = tok().decode(ids);
    EXPECT_TRUE(utf8::is_valid(decoded));
    EXPECT_EQ(streamed(tok(), ids), decoded) << json(decoded).dump();
  }
  EXPECT_EQ(tok().decode(bytes_of("\xE2\x82" "a")), "\uFFFD" "a");
  EXPECT_EQ(tok().decode(bytes_of("\xED\xA0\x80")), "\uFFFD\uFFFD\uFFFD");
  std::vector<std::string> chunks;
  streamed(tok(), bytes_of("a\xC3"), &chunks);
  EXPECT_EQ(chunks, (std::vector<std::string>{"a", "", "\uFFFD"}));
}

TEST_F(TinyTokenizer, StreamingSkipsSpecialTokensWhenAsked) {
  std::vector<int32_t> ids = {259, 264, 0xC3, 264, 0xA9};
  EXPECT_EQ(streamed(tok(), ids, nullptr, true), tok().decode(ids, true));
  EXPECT_EQ(tok().decode(ids, true), "helloé");
  EXPECT_EQ(streamed(tok(), ids), tok().decode(ids));
}

TEST_F(TinyTokenizer, InvalidUtf8InputIsRejectedWithItsOffset) {
  try {
    tok().encode("ab\xC3(");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("not valid UTF-8"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0xC3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("offset 2"), std::string::npos) << msg;
  }
  EXPECT_THROW(tok().encode("\xED\xA0\x80"), Error);  // an encoded surrogate
  EXPECT_THROW(tok().encode("x\xF0\x9F"), Error);     // truncated at the end
  EXPECT_NO_THROW(tok().encode(std::string("nul \0 inside", 12)));
}

TEST_F(TinyTokenizer, EncodesFromSeveralThreadsAtOnce) {
  // Word caches and regex match data are per thread; results must not depend on interleaving.
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back("hello world " + std::to_string(i * 7919) + " <think>héllo\n");
  std::vector<std::vector<int32_t>> expected;
  for (const auto& t : texts) expected.push_back(tok().encode(t));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          size_t j = (i * (k + 1) + round) % texts.size();
          if (tok().encode(texts[j]) != expected[j]) ++mismatches;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Utf8, LossyMatchesTheMaximalSubpartPolicy) {
  EXPECT_EQ(utf8::to_valid_lossy("\xF0\x80\x80"), "\uFFFD\uFFFD\uFFFD");  // F0 80: invalid second byte
  EXPECT_EQ(utf8::to_valid_lossy("\xF0\x90\x80"), "\uFFFD");              // valid prefix, truncated
  EXPECT_EQ(utf8::to_valid_lossy("\xE0\x9F\x80"), "\uFFFD\uFFFD\uFFFD");  // overlong 3-byte form
  EXPECT_EQ(utf8::find_invalid("héllo"), std::string_view::npos);
  EXPECT_EQ(utf8::find_invalid("12345678h\xE9llo"), 9u);
}

// ---- regex: Oniguruma classes on PCRE2 -----------------------------------------------------------

std::vector<Regex::Match> all_matches(const Regex& re, std::string_view s) {
  std::vector<Regex::Match> m;
  re.find_all(s, m);
  return m;
}

TEST(Regex, WhitespaceClassIsUnicodeWhiteSpace) {
  Regex ws = Regex::oniguruma("\\s+");
  EXPECT_EQ(all_matches(ws, "a\u0085b"), (std::vector<Regex::Match>{{1, 3}}));  // NEL is whitespace
  EXPECT_TRUE(all_matches(ws, "a\ufeffb").empty());                            // BOM is not
  Regex not_ws = Regex::oniguruma("[^\\s\\p{L}]+");
  EXPECT_EQ(all_matches(not_ws, "ab\ufeff!c"), (std::vector<Regex::Match>{{2, 6}}));
  EXPECT_EQ(translate_oniguruma("\\s+(?!\\S)"), "\\p{White_Space}+(?!\\P{White_Space})");
}

TEST(Regex, RubyEscapesAndUnsupportedConstructs) {
  EXPECT_EQ(translate_oniguruma("\\h+"), "[0-9a-fA-F]+");
  EXPECT_EQ(translate_oniguruma("[\\h_]"), "[0-9a-fA-F_]");
  EXPECT_EQ(translate_oniguruma("\\u00e9"), "\\x{00e9}");
  EXPECT_EQ(translate_oniguruma("[\\]\\s]"), "[\\]\\p{White_Space}]");
  EXPECT_EQ(translate_oniguruma("[]a]"), "[]a]");
  EXPECT_THROW(translate_oniguruma("[\\W]"), Error);
  EXPECT_THROW(translate_oniguruma("[[:alpha:]]"), Error);
  EXPECT_THROW(translate_oniguruma("[a-z&&[^aeiou]]"), Error);
  EXPECT_THROW(translate_oniguruma("abc\\"), Error);
  EXPECT_THROW(Regex::oniguruma("(unclosed"), Error);
  // \w is Oniguruma's: marks and all numbers count (PCRE2's own \w would miss U+0301 and U+00B2).
  Regex word = Regex::oniguruma("\\w+");
  EXPECT_EQ(all_matches(word, "e\u0301\u00b2 x"), (std::vector<Regex::Match>{{0, 5}, {6, 7}}));
}

TEST(Regex, PropertiesKnowCharactersAssignedAfterPcre2sUnicodeVersion) {
  // U+1FABF GOOSE (Unicode 15.0, So), U+10D4A GARAY letter (16.0, Lo), U+11BF1 SUNUWAR digit (16.0, Nd):
  // unassigned for PCRE2 10.42, classified by the reference (Oniguruma, Unicode 16).
  EXPECT_EQ(all_matches(Regex::oniguruma("\\p{S}+"), "a\U0001FABF\U0001FABFb"), (std::vector<Regex::Match>{{1, 9}}));
  EXPECT_EQ(all_matches(Regex::oniguruma("[\\p{P}\\p{S}]"), "\U0001FABF").size(), 1u);
  EXPECT_EQ(all_matches(Regex::oniguruma("[^\\p{L}]+"), "\U00010D4A").size(), 0u);
  EXPECT_EQ(all_matches(Regex::oniguruma("\\P{L}"), "\U00010D4A").size(), 0u);
  EXPECT_EQ(all_matches(Regex::oniguruma("\\p{N}{1,3}"), "\U00011BF1\U00011BF2").size(), 1u);
  EXPECT_EQ(all_matches(Regex::oniguruma("\\d"), "\U00011BF1").size(), 1u);
  EXPECT_EQ(all_matches(Regex::oniguruma("\\w+"), "\U00010D4A\U00011BF1").size(), 1u);
  // The fast form (PCRE2's tables only) is used for text without such characters.
  EXPECT_TRUE(has_unicode_additions("goose \U0001FABF"));
  EXPECT_FALSE(has_unicode_additions("plain text, 中文, 😀, e\u0301"));
  Regex s = Regex::oniguruma("\\p{S}+|\\p{L}+");
  std::vector<Regex::Match> full, plain;
  s.find_all("ab😀€c", full, true);
  s.find_all("ab😀€c", plain, false);
  EXPECT_EQ(full, plain);
  EXPECT_EQ(translate_oniguruma("\\p{S}", false), "\\p{S}");
  EXPECT_NE(translate_oniguruma("\\p{S}", true).find("\\x{1FABF}"), std::string::npos);
  EXPECT_TRUE(in_unicode_additions("S", 0x1FABF));
  EXPECT_FALSE(in_unicode_additions("S", 0x1F600));  // known to PCRE2 already
  EXPECT_EQ(translate_oniguruma("\\p{Lu}"), "\\p{Lu}");  // no additions recorded for subcategories
}

TEST(Regex, CaseInsensitiveGroupsFoldLikeUnicode) {
  Regex re = Regex::oniguruma("(?i:'s|'ll)");
  EXPECT_EQ(all_matches(re, "it's IT'S it'LL"), (std::vector<Regex::Match>{{2, 4}, {7, 9}, {12, 15}}));
  EXPECT_EQ(all_matches(re, "x'\u017f").size(), 1u);  // long s folds to s
}

TEST(Regex, EmptyMatchesFollowTheReferenceIteration) {
  // onig's find_iter: an empty match right after a non-empty one is dropped once.
  EXPECT_EQ(all_matches(Regex::oniguruma("a*"), "baab"), (std::vector<Regex::Match>{{0, 0}, {1, 3}, {4, 4}}));
  EXPECT_EQ(all_matches(Regex::literal("a.b"), "a.b axb a.b"), (std::vector<Regex::Match>{{0, 3}, {8, 11}}));
}

TEST(Normalizer, NfcComposesAndLeavesNfcTextAlone) {
  EXPECT_EQ(nfc("e\u0301"), "\u00e9");
  EXPECT_EQ(nfc("\u1100\u1161\u11a8"), "\uac01");
  EXPECT_EQ(nfc("\u2000"), "\u2002");  // a singleton decomposition
  Normalizer n;
  n.add(Normalizer::Step::nfc);
  std::string buffer;
  std::string_view plain = "plain ASCII, Latin-1 é, 中文, 한국어";
  EXPECT_EQ(n.apply(plain, buffer).data(), plain.data());  // unchanged text is not copied
  EXPECT_EQ(n.apply("ka\u304b\u3099", buffer), "ka\u304c");
}

// ---- bad input: every error names the file ------------------------------------------------------

std::string load_error(const test::TempDir& dir, const std::string& content, const std::string& name = "tokenizer.json") {
  auto path = dir.write(name, content);
  try {
    Tokenizer::load(path);
  } catch (const FileError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path.string() + ": ", 0), 0u) << "message does not start with the path: " << msg;
    return msg;
  }
  ADD_FAILURE() << "no FileError for " << content.substr(0, 80);
  return {};
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

TEST(TokenizerErrors, MissingFileAndFolderWithoutTokenizer) {
  test::TempDir dir;
  try {
    Tokenizer::load(dir.path() / "absent.json");
    FAIL();
  } catch (const FileError& e) {
    EXPECT_TRUE(contains(e.what(), "absent.json: does not exist")) << e.what();
  }
  try {
    Tokenizer::load(dir.path());
    FAIL();
  } catch (const FileError& e) {
    EXPECT_TRUE(contains(e.what(), dir.path().string() + ": has no tokenizer.json")) << e.what();
  }
}

TEST(TokenizerErrors, TruncatedOrInvalidJson) {
  test::TempDir dir;
  std::string full = test::tiny_tokenizer_json().dump();
  std::string msg = load_error(dir, full.substr(0, full.size() / 2));
  EXPECT_TRUE(contains(msg, "invalid JSON")) << msg;
  EXPECT_TRUE(contains(msg, "truncated")) << msg;
  EXPECT_TRUE(contains(load_error(dir, "{not json"), "invalid JSON"));
  EXPECT_TRUE(contains(load_error(dir, ""), "invalid JSON"));
  EXPECT_TRUE(contains(load_error(dir, "[1, 2]"), "not a JSON object"));
  EXPECT_TRUE(contains(load_error(dir, "{\"version\": \"1.0\"}"), "no \"model\""));
}

TEST(TokenizerErrors, UnknownComponentTypesAreNamed) {
  test::TempDir dir;
  auto with = [&](const char* key, json value) {
    json j = test::tiny_tokenizer_json();
    j[key] = std::move(value);
    return load_error(dir, j.dump());
  };
  std::string msg = with("model", {{"type", "WordPiece"}, {"vocab", json::object()}});
  EXPECT_TRUE(contains(msg, "unsupported model type \"WordPiece\"")) << msg;
  msg = with("pre_tokenizer", {{"type", "Whitespace"}});
  EXPECT_TRUE(contains(msg, "unsupported pre_tokenizer type \"Whitespace\"")) << msg;
  msg = with("pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Metaspace"}}}}});
  EXPECT_TRUE(contains(msg, "\"Metaspace\"")) << msg;
  msg = with("normalizer", {{"type", "Lowercase"}});
  EXPECT_TRUE(contains(msg, "unsupported normalizer type \"Lowercase\"")) << msg;
  msg = with("decoder", {{"type", "WordPiece"}});
  EXPECT_TRUE(contains(msg, "unsupported decoder type \"WordPiece\"")) << msg;
  msg = with("post_processor", {{"type", "BertProcessing"}});
  EXPECT_TRUE(contains(msg, "unsupported post_processor type \"BertProcessing\"")) << msg;
  msg = with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "[\\W]"}}}, {"behavior", "Isolated"}, {"invert", false}});
  EXPECT_TRUE(contains(msg, "\\W inside a bracket class")) << msg;
  msg = with("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}, {"invert", false}});
  EXPECT_TRUE(contains(msg, "Sideways")) << msg;
}

TEST(TokenizerErrors, BrokenModelContents) {
  test::TempDir dir;
  json j = test::tiny_tokenizer_json();
  j["model"]["merges"].push_back("h zz");
  EXPECT_TRUE(contains(load_error(dir, j.dump()), "\"zz\" is not in the vocabulary"));
  j = test::tiny_tokenizer_json();
  j["model"]["merges"].push_back("h e l");
  EXPECT_TRUE(contains(load_error(dir, j.dump()), "not two tokens"));
  j = test::tiny_tokenizer_json();
  j["model"]["vocab"]["x"] = "seven";
  EXPECT_TRUE(contains(load_error(dir, j.dump()), "not an integer"));
  j = test::tiny_tokenizer_json();
  j["model"]["dropout"] = 0.1;
  EXPECT_TRUE(contains(load_error(dir, j.dump()), "dropout"));
  j = test::tiny_tokenizer_json();
  j["model"].erase("vocab");
  EXPECT_TRUE(contains(load_error(dir, j.dump()), "model.vocab"));
}

TEST(TokenizerLoad, AddedTokenIdsFollowTheReferenceRuleWithAWarning) {
  test::TempDir dir;
  json j = test::tiny_tokenizer_json();
  j["added_tokens"][0]["id"] = 999;  // the reference gives it the next free id after the vocabulary
  j["added_tokens"].push_back({{"id", 7}, {"content", "he"}, {"special", true}});  // "he" already has id 256
  testing::internal::CaptureStderr();
  auto tok = Tokenizer::load(dir.write("tokenizer.json", j.dump()));
  std::string warnings = testing::internal::GetCapturedStderr();
  EXPECT_EQ(tok.token_id("<image_placeholder>"), 261);
  EXPECT_EQ(tok.token_id("he"), 256);
  EXPECT_TRUE(tok.is_special(256));
  EXPECT_TRUE(contains(warnings, "\"<image_placeholder>\" is listed with id 999 but gets id 261")) << warnings;
  EXPECT_TRUE(contains(warnings, "\"he\" is listed with id 7 but gets id 256")) << warnings;
}

TEST(TokenizerErrors, BrokenSidecarConfigNamesItsFile) {
  test::TempDir dir;
  dir.write("tokenizer.json", test::tiny_tokenizer_json().dump());
  auto config = dir.write("tokenizer_config.json", "{\"bos_token\": ");
  try {
    Tokenizer::load(dir.path());
    FAIL();
  } catch (const FileError& e) {
    EXPECT_TRUE(contains(e.what(), config.string())) << e.what();
  }
}

TEST(TokenizerConfig, SpecialTokensMapOverridesTokenizerConfig) {
  test::TempDir dir;
  dir.write("tokenizer.json", test::tiny_tokenizer_json().dump());
  dir.write("tokenizer_config.json",
            R"({"bos_token": {"content": "<｜begin▁of▁sentence｜>", "__type": "AddedToken"}, "eos_token": "<x>", "pad_token": null, "add_bos_token": false})");
  dir.write("special_tokens_map.json", R"({"eos_token": "<｜end▁of▁sentence｜>", "pad_token": "<pad>"})");
  auto tok = Tokenizer::load(dir.path());
  EXPECT_EQ(tok.bos_token(), "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(tok.eos_token(), "<｜end▁of▁sentence｜>");
  EXPECT_EQ(tok.pad_token(), "<pad>");
  EXPECT_EQ(tok.add_bos_token(), false);
  EXPECT_EQ(tok.source(), dir.path() / "tokenizer.json");
  // Declared tokens missing from tokenizer.json are appended, as transformers does.
  EXPECT_EQ(tok.token_id("<｜begin▁of▁sentence｜>"), 266);
  EXPECT_EQ(tok.token_id("<x>"), std::nullopt);  // overridden, so never declared
  EXPECT_EQ(tok.token_id("<pad>"), 267);
  // A tokenizer.json path alone reads no sidecar files.
  auto alone = Tokenizer::load(dir.path() / "tokenizer.json");
  EXPECT_EQ(alone.bos_token(), std::nullopt);
  EXPECT_EQ(alone.vocab_size(), 266u);
}

// SpecialTokens::processor for every combination of the files' settings, by transformers 4.x's rule:
// LlamaTokenizerFast (also named by its slow name) rebuilds the post-processor from add_bos_token
// (default true) and add_eos_token (default false); any other class keeps tokenizer.json's. The
// reference test (tests/reference/test_tokenizer_processor.cpp) checks the same grid against
// transformers 4.38.2 itself.
namespace processor_rule {

nlohmann::json tokenizer_with_bos(bool post_processor_adds_bos) {
  nlohmann::json j = test::tiny_tokenizer_json();
  j["added_tokens"].push_back({{"id", 266}, {"content", "<｜begin▁of▁sentence｜>"}, {"single_word", false},
                               {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}});
  if (post_processor_adds_bos) {
    j["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<｜begin▁of▁sentence｜>"}, {"type_id", 0}}}},
                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens",
         {{"<｜begin▁of▁sentence｜>", {{"id", "<｜begin▁of▁sentence｜>"}, {"ids", {266}}, {"tokens", {"<｜begin▁of▁sentence｜>"}}}}}}};
  }
  return j;
}

TEST(TokenizerProcessorRule, EveryCombinationOfClassAddBosAndPostProcessor) {
  const std::vector<int32_t> hello = {259}, with_bos = {266, 259};
  for (bool post_bos : {false, true}) {
    for (std::optional<bool> add_bos : {std::optional<bool>(), std::optional<bool>(true), std::optional<bool>(false)}) {
      for (std::optional<std::string> cls : {std::optional<std::string>(), std::optional<std::string>("LlamaTokenizerFast"),
                                             std::optional<std::string>("LlamaTokenizer"),
                                             std::optional<std::string>("Qwen2TokenizerFast"),
                                             std::optional<std::string>("PreTrainedTokenizerFast")}) {
        test::TempDir dir;
        dir.write("tokenizer.json", tokenizer_with_bos(post_bos).dump());
        nlohmann::json config = {{"bos_token", "<｜begin▁of▁sentence｜>"}, {"eos_token", "<｜end▁of▁sentence｜>"}};
        if (add_bos) config["add_bos_token"] = *add_bos;
        if (cls) config["tokenizer_class"] = *cls;
        dir.write("tokenizer_config.json", config.dump());
        const auto tok = Tokenizer::load(dir.path());
        const bool rebuilt = cls && cls->starts_with("LlamaTokenizer");
        const bool bos = rebuilt ? add_bos.value_or(true) : post_bos;
        const std::string where = cat("post-processor BOS ", post_bos, ", add_bos_token ",
                                      add_bos ? (*add_bos ? "true" : "false") : "absent", ", class ", cls.value_or("absent"));
        EXPECT_EQ(tok.encode("hello", SpecialTokens::processor), bos ? with_bos : hello) << where;
        EXPECT_EQ(tok.encode("hello", SpecialTokens::tokenizer_json), post_bos ? with_bos : hello) << where;
        EXPECT_EQ(tok.encode("hello"), hello) << where;
        EXPECT_EQ(tok.tokenizer_class(), cls) << where;
        EXPECT_FALSE(tok.processor_rule().empty());
      }
    }
  }
}

TEST(TokenizerProcessorRule, AddEosTokenAndTheModelsOwnProcessorClass) {
  test::TempDir dir;
  dir.write("tokenizer.json", tokenizer_with_bos(false).dump());
  dir.write("tokenizer_config.json",
            R"({"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>", "add_eos_token": true,
                "tokenizer_class": "Qwen2TokenizerFast"})");
  // As written: Qwen2TokenizerFast keeps the file's post-processor, which adds nothing.
  EXPECT_EQ(Tokenizer::load(dir.path()).encode("hello", SpecialTokens::processor), (std::vector<int32_t>{259}));
  // A model whose code instantiates LlamaTokenizerFast itself (Janus's VLChatProcessor) gets its rule.
  const auto tok = Tokenizer::load(dir.path(), {.processor_class = "LlamaTokenizerFast"});
  EXPECT_EQ(tok.encode("hello", SpecialTokens::processor), (std::vector<int32_t>{266, 259, 264}));
  EXPECT_TRUE(contains(tok.processor_rule(), "add_bos_token absent, default true")) << tok.processor_rule();
  EXPECT_TRUE(contains(tok.processor_rule(), "EOS <｜end▁of▁sentence｜> (add_eos_token true)")) << tok.processor_rule();
  // A tokenizer.json alone has no processor but its own post-processor.
  EXPECT_EQ(Tokenizer::load(dir.path() / "tokenizer.json").encode("hello", SpecialTokens::processor),
            (std::vector<int32_t>{259}));
}

TEST(TokenizerProcessorRule, ABosTheFolderDoesNotNameFailsOnlyWhenTheProcessorIsAskedFor) {
  test::TempDir dir;
  dir.write("tokenizer.json", tokenizer_with_bos(false).dump());
  auto config = dir.write("tokenizer_config.json", R"({"tokenizer_class": "LlamaTokenizerFast"})");
  const auto tok = Tokenizer::load(dir.path());
  EXPECT_EQ(tok.encode("hello"), (std::vector<int32_t>{259}));
  try {
    tok.encode("hello", SpecialTokens::processor);
    FAIL();
  } catch (const FileError& e) {
    EXPECT_TRUE(contains(e.what(), "names no bos_token")) << e.what();
    EXPECT_TRUE(contains(e.what(), "add_bos_token to false")) << e.what();
  }
}

}  // namespace processor_rule

}  // namespace
