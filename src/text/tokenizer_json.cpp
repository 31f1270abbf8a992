#include "text/tokenizer_json.hpp"

#include "core/error.hpp"

namespace januskit::text {
namespace {

using json = nlohmann::json;

// nlohmann's SAX interface. Outside model.vocab / model.merges it builds the DOM like nlohmann's
// own DOM parser (a stack of open containers and the pending object key).
class Reader {
 public:
  explicit Reader(TokenizerJson& out) : out_(out) {}

  bool null() { return value(json(nullptr)); }
  bool boolean(bool v) { return value(json(v)); }
  bool number_integer(json::number_integer_t v) { return vocab_number(v) && value(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) {
    return vocab_number(v > static_cast<uint64_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v)) && value(json(v));
  }
  bool number_float(json::number_float_t v, const std::string&) { return value(json(v)); }
  bool binary(json::binary_t&) { return fail("binary values are not JSON"); }

  bool string(std::string& v) {
    if (mode_ == Mode::merges) {
      out_.merges.push_back({std::move(v), std::string(), false});
      return true;
    }
    if (mode_ == Mode::merge_pair) {
      if (pair_count_ == 0) out_.merges.back().first = std::move(v);
      else if (pair_count_ == 1) out_.merges.back().second = std::move(v);
      ++pair_count_;
      return true;
    }
    return value(json(std::move(v)));
  }

  bool key(std::string& k) {
    key_ = std::move(k);
    return true;
  }

  bool start_object(std::size_t) {
    if (mode_ == Mode::dom && in_model() && key_ == "vocab") {
      mode_ = Mode::vocab;
      out_.has_vocab = true;
      return true;
    }
    if (mode_ != Mode::dom) return fail(mode_ == Mode::vocab ? "a model.vocab entry is an object, not an id"
                                                             : "a model.merges entry is an object");
    json* node = insert(json::object());
    if (stack_.size() == 1 && key_ == "model") model_ = node;
    stack_.push_back(node);
    return true;
  }

  bool end_object() {
    if (mode_ == Mode::vocab) {
      mode_ = Mode::dom;
      return true;
    }
    stack_.pop_back();
    return true;
  }

  bool start_array(std::size_t) {
    if (mode_ == Mode::dom && in_model() && key_ == "merges") {
      mode_ = Mode::merges;
      out_.has_merges = true;
      return true;
    }
    if (mode_ == Mode::merges) {
      mode_ = Mode::merge_pair;
      pair_count_ = 0;
      out_.merges.push_back({std::string(), std::string(), true});
      return true;
    }
    if (mode_ != Mode::dom) return fail(mode_ == Mode::vocab ? "a model.vocab entry is a list, not an id"
                                                             : "a model.merges entry is nested too deeply");
    stack_.push_back(insert(json::array()));
    return true;
  }

  bool end_array() {
    if (mode_ == Mode::merge_pair) {
      if (pair_count_ != 2) return fail(cat("model.merges entry ", out_.merges.size(), " is not a pair of tokens"));
      mode_ = Mode::merges;
      return true;
    }
    if (mode_ == Mode::merges) {
      mode_ = Mode::dom;
      return true;
    }
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_ = cat("invalid JSON (", e.what(), "); the file may be truncated or not a tokenizer.json, download it again");
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  enum class Mode { dom, vocab, merges, merge_pair };

  bool in_model() const { return model_ != nullptr && !stack_.empty() && stack_.back() == model_; }

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // A vocabulary id, when inside model.vocab.
  bool vocab_number(int64_t v) {
    if (mode_ != Mode::vocab) return true;
    out_.vocab.emplace_back(std::move(key_), v);
    return true;
  }

  bool value(json&& v) {
    if (mode_ == Mode::vocab) {
      if (v.is_number_integer()) return true;  // already recorded by vocab_number
      return fail(cat("model.vocab entry \"", key_, "\": the id is not an integer"));
    }
    if (mode_ != Mode::dom) return fail(cat("model.merges entry ", out_.merges.size() + 1, " is not a string"));
    insert(std::move(v));
    return true;
  }

  json* insert(json&& v) {
    if (stack_.empty()) {
      out_.root = std::move(v);
      return &out_.root;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }

  TokenizerJson& out_;
  std::vector<json*> stack_;
  json* model_ = nullptr;
  std::string key_;
  std::string error_;
  Mode mode_ = Mode::dom;
  int pair_count_ = 0;
};

}  // namespace

TokenizerJson read_tokenizer_json(std::string_view text) {
  TokenizerJson out;
  Reader reader(out);
  bool ok = json::sax_parse(text.begin(), text.end(), &reader);
  if (!ok) throw Error(reader.error().empty() ? std::string("invalid JSON") : reader.error());
  return out;
}

}  // namespace januskit::text
