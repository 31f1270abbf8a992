// A small byte-level BPE tokenizer.json built in the test itself: every byte is a token (ids
// 0..255 in byte order), a few merges, and added tokens after the vocabulary. Tests change pieces
// of the JSON to exercise loading errors and components without the large shared files.
#pragma once

#include "test_util.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "text/byte_level.hpp"

namespace januskit::test {

inline nlohmann::json tiny_tokenizer_json() {
  using nlohmann::json;
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[text::byte_level::from_bytes(std::string(1, static_cast<char>(b)))] = b;
  // Merges: "he", "ll", "hell", "hello", " w" (as "Ġw").
  vocab["he"] = 256;
  vocab["ll"] = 257;
  vocab["hell"] = 258;
  vocab["hello"] = 259;
  vocab["Ġw"] = 260;
  json merges = json::array({"h e", "l l", "he ll", "hell o", "Ġ w"});
  json added = json::array();
  int id = 261;
  for (const char* t : {"<image_placeholder>", "<begin_of_image>", "<end_of_image>", "<｜end▁of▁sentence｜>"}) {
    added.push_back({{"id", id++}, {"content", t}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}});
  }
  added.push_back({{"id", id++}, {"content", "<think>"}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                   {"normalized", false}, {"special", false}});
  return json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
                 {"vocab", vocab}, {"merges", merges}}},
  };
}

}  // namespace januskit::test
