// Every vector in ../shared/fixtures/tokenizers/*/vectors.jsonl and chat_vectors.jsonl: the real
// DeepSeek-V3 and Qwen3 tokenizer.json files, with ids and decoded text from the reference.
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
  EXPECT_TRUE(in) << path;
  std::vector<json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

// Loading the 8-11 MB files once per test binary keeps the suite fast.
const text::Tokenizer& shared_tokenizer(const std::string& name) {
  static std::map<std::string, text::Tokenizer> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    it = cache.emplace(name, text::Tokenizer::load(test::shared_fixtures() / "tokenizers" / name / "tokenizer.json")).first;
  }
  return it->second;
}

class SharedVectors : public testing::TestWithParam<std::string> {};

TEST_P(SharedVectors, EncodeAndDecodeMatchEveryVector) {
  JANUSKIT_REQUIRE_SHARED_FIXTURES();
  const auto& tok = shared_tokenizer(GetParam());
  auto rows = read_jsonl(test::shared_fixtures() / "tokenizers" / GetParam() / "vectors.jsonl");
  ASSERT_GE(rows.size(), 200u);
  int failures = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string text = rows[i]["text"];
    std::vector<int32_t> expected = rows[i]["ids"];
    std::vector<int32_t> ids = tok.encode(text);
    std::string decoded = tok.decode(ids);
    if (ids != expected || decoded != rows[i]["decoded"].get<std::string>()) {
      ADD_FAILURE() << GetParam() << " vector " << i << ": " << json(text).dump() << "\n  expected " << json(expected).dump()
                    << "\n  got      " << json(ids).dump() << "\n  decoded  " << json(decoded).dump();
      if (++failures > 10) break;
    }
  }
}

TEST_P(SharedVectors, ChatVectorsEncodeAsTheReference) {
  JANUSKIT_REQUIRE_SHARED_FIXTURES();
  const auto& tok = shared_tokenizer(GetParam());
  auto rows = read_jsonl(test::shared_fixtures() / "tokenizers" / GetParam() / "chat_vectors.jsonl");
  ASSERT_FALSE(rows.empty());
  for (const json& row : rows) {
    std::vector<int32_t> expected = row["ids"];
    std::vector<int32_t> ids = tok.encode(row["rendered"].get<std::string>());
    EXPECT_EQ(ids, expected) << row["template"];
    EXPECT_EQ(tok.decode(ids), row["decoded"].get<std::string>()) << row["template"];
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, SharedVectors, testing::Values("deepseek_v3", "qwen3"));

}  // namespace
