// SpecialTokens::processor against transformers 4.38.2 itself (the version the official DeepSeek
// code pins): every folder of tests/reference/make_tokenizer_processor.py — each combination of
// post-processor, add_bos_token, add_eos_token and tokenizer_class, plus DeepSeek-V3's real files —
// must encode to the ids that AutoTokenizer gives, and to the ids that LlamaTokenizerFast gives when
// januskit is told the model's code instantiates that class (Janus's VLChatProcessor).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.hpp"
#include "test_util.hpp"
#include "text/tokenizer.hpp"

using namespace januskit;
using nlohmann::json;

namespace {

json index_of_folders() {
  std::ifstream in(test::fixture_dir("tokenizer_processor") / "index.json");
  return json::parse(in);
}

void expect_processor_ids(const text::Tokenizer& tok, const json& entry, const json& result, const std::string& what) {
  const json& texts = entry["texts"];
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> want = result["ids"][i];
    EXPECT_EQ(tok.encode(texts[i].get<std::string>(), text::SpecialTokens::processor), want)
        << what << ", text " << texts[i].dump() << "\n  rule: " << tok.processor_rule();
  }
}

TEST(TokenizerProcessor, EveryFolderEncodesAsTransformers4Does) {
  const json index = index_of_folders();
  ASSERT_GE(index.size(), 61u);
  int compared = 0;
  for (const json& entry : index) {
    const std::string name = entry["folder"];
    const auto folder = test::fixture_dir("tokenizer_processor") / name;
    const text::Tokenizer as_folder = text::Tokenizer::load(folder);
    const text::Tokenizer as_janus = text::Tokenizer::load(folder, {.processor_class = "LlamaTokenizerFast"});
    if (name == "no_bos_named") {
      // transformers 4.x makes up "<s>" as a new token after the vocabulary (an id the model never
      // trained) and prepends it; januskit refuses, naming the setting to fix.
      EXPECT_EQ(entry["auto"]["ids"][0][0], as_folder.vocab_size()) << entry["auto"].dump();
      EXPECT_THROW(as_folder.encode("a", text::SpecialTokens::processor), FileError);
      EXPECT_THROW(as_janus.encode("a", text::SpecialTokens::processor), FileError);
      continue;
    }
    if (entry["auto"].contains("ids")) {
      expect_processor_ids(as_folder, entry, entry["auto"], name + " (AutoTokenizer: " + entry["auto"]["class"].get<std::string>() + ")");
      ++compared;
    } else {
      // No tokenizer_class: AutoTokenizer cannot choose without a model config.json; januskit keeps
      // tokenizer.json's post-processor, which is what the Rust crate adds.
      EXPECT_FALSE(as_folder.tokenizer_class().has_value()) << name << ": " << entry["auto"].dump();
      for (const json& t : entry["texts"]) {
        EXPECT_EQ(as_folder.encode(t.get<std::string>(), text::SpecialTokens::processor),
                  as_folder.encode(t.get<std::string>(), text::SpecialTokens::tokenizer_json)) << name;
      }
    }
    ASSERT_TRUE(entry["llama"].contains("ids")) << name << ": " << entry["llama"].dump();
    expect_processor_ids(as_janus, entry, entry["llama"], name + " (LlamaTokenizerFast, as Janus's processor)");
    ++compared;
  }
  EXPECT_GE(compared, 100);
}

}  // namespace
