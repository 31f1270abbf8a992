// Differential test against the Rust `tokenizers` crate: every case written by
// tests/reference/make_tokenizer_cases.py (seeded random strings over many scripts, whitespace,
// emoji, combining marks and literal special tokens, for the real Qwen3 / DeepSeek-V3 files, an R1
// variant, a Llama-3-style tokenizer and component variants) must come out identical: ids without
// and with special tokens, decoded text with and without skip_special_tokens, and the streaming
// decoder's output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "test_util.hpp"
#include "text/tokenizer.hpp"

using namespace januskit;
using nlohmann::json;

namespace {

std::vector<json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

std::string streamed(const text::Tokenizer& tok, const std::vector<int32_t>& ids, bool skip) {
  text::StreamingDecoder stream(tok, skip);
  std::string out;
  for (int32_t id : ids) out += stream.push(id);
  return out + stream.finish();
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  const char* root = std::getenv("JANUSKIT_FIXTURES");
  if (root == nullptr) return names;
  std::filesystem::path index = std::filesystem::path(root) / "tokenizer_cases" / "index.json";
  if (!std::filesystem::exists(index)) return names;
  json parsed = read_json(index);  // named: a range-for over a member of a temporary would dangle
  for (const json& t : parsed["tokenizers"]) {
    if (!t.value("folder", false)) names.push_back(t["name"]);
  }
  return names;
}

TEST(TokenizerCaseIndex, ListsTheBuiltTokenizers) {
  json index = read_json(test::fixture_dir("tokenizer_cases") / "index.json");
  std::vector<std::string> names;
  for (const json& t : index["tokenizers"]) {
    names.push_back(t["name"]);
    bool variant = t["name"] == "gpt2_style" || t["name"] == "split_variants" || t["name"] == "added_variants" ||
                   t["name"] == "char_bpe_fallback" || t["name"] == "char_bpe_affixes";
    if (!t.value("folder", false) && !variant) {
      EXPECT_GE(t["cases"].get<int>(), 2000) << t["name"];
    }
  }
  for (const char* always : {"llama3_style", "gpt2_style", "split_variants", "added_variants", "char_bpe_fallback",
                             "char_bpe_affixes", "model_folder"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), always), names.end()) << always;
  }
  if (!test::shared_fixtures().empty()) {
    for (const char* shared : {"qwen3", "deepseek_v3", "r1"}) {
      EXPECT_NE(std::find(names.begin(), names.end(), shared), names.end()) << shared;
    }
  }
}

class TokenizerCases : public testing::TestWithParam<std::string> {};

TEST_P(TokenizerCases, IdenticalToTheRustCrate) {
  std::filesystem::path dir = test::fixture_dir("tokenizer_cases") / GetParam();
  auto tok = text::Tokenizer::load(dir / "tokenizer.json");
  auto rows = read_jsonl(dir / "cases.jsonl");
  ASSERT_FALSE(rows.empty());
  int failures = 0;
  for (size_t i = 0; i < rows.size() && failures < 10; ++i) {
    const json& row = rows[i];
    std::string text = row["text"];
    std::vector<int32_t> ids = tok.encode(text), ids_special = tok.encode(text, text::SpecialTokens::tokenizer_json);
    std::vector<int32_t> expected = row["ids"], expected_special = row["ids_special"];
    std::string decoded = tok.decode(ids), decoded_skip = tok.decode(ids, true);
    bool ok = ids == expected && ids_special == expected_special && decoded == row["decoded"].get<std::string>() &&
              decoded_skip == row["decoded_skip"].get<std::string>() && streamed(tok, ids, false) == decoded &&
              streamed(tok, ids, true) == decoded_skip;
    if (!ok) {
      ++failures;
      ADD_FAILURE() << GetParam() << " case " << i << ": " << json(text).dump() << "\n  expected " << json(expected).dump()
                    << "\n  got      " << json(ids).dump() << "\n  special  " << json(expected_special).dump() << " vs "
                    << json(ids_special).dump() << "\n  decoded  " << json(decoded).dump() << " vs "
                    << row["decoded"].dump() << "\n  skip     " << json(decoded_skip).dump() << " vs "
                    << row["decoded_skip"].dump();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rust, TokenizerCases, testing::ValuesIn(case_names()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TokenizerCases);

TEST(ModelFolder, AddsDeclaredSpecialTokensAsTransformersDoes) {
  std::filesystem::path dir = test::fixture_dir("tokenizer_cases") / "model_folder";
  auto tok = text::Tokenizer::load(dir);
  json expected = read_json(dir / "expected.json");
  for (const auto& [token, id] : expected["token_ids"].items()) {
    EXPECT_EQ(tok.token_id(token), std::optional<int32_t>(id.get<int32_t>())) << token;
    EXPECT_TRUE(tok.is_special(id.get<int32_t>())) << token;
  }
  EXPECT_EQ(tok.bos_token(), expected["bos_token"].get<std::string>());
  EXPECT_EQ(tok.eos_token(), expected["eos_token"].get<std::string>());
  EXPECT_EQ(tok.pad_token(), expected["pad_token"].get<std::string>());
  EXPECT_EQ(tok.add_bos_token(), std::optional<bool>(true));
  EXPECT_EQ(tok.vocab_size(), expected["vocab_size"].get<size_t>());
  for (const json& row : read_jsonl(dir / "cases.jsonl")) {
    std::vector<int32_t> ids = row["ids"];
    EXPECT_EQ(tok.encode(row["text"].get<std::string>()), ids) << row["text"].dump();
  }
}

}  // namespace
