// tokenizer.json normalizers: NFC (Qwen2/Qwen3 vocabularies), Sequence (flattened) and none.
//
// Design note: NFC comes from utf8proc. Most text is already in NFC, and most of it consists of
// characters that can neither change nor combine under NFC (ASCII, Latin-1, CJK ideographs, Hangul
// syllables, kana letters, Cyrillic letters); a scan for such characters returns the input
// unchanged without calling utf8proc or allocating.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace januskit::text {

class Normalizer {
 public:
  enum class Step { nfc };

  void add(Step step) { steps_.push_back(step); }
  bool empty() const { return steps_.empty(); }

  // The normalized text: `in` itself when nothing changes, else a view of `buffer`.
  std::string_view apply(std::string_view in, std::string& buffer) const;

 private:
  std::vector<Step> steps_;
};

// NFC of valid UTF-8 text.
std::string nfc(std::string_view text);

}  // namespace januskit::text
