// Loading tokenizer.json into the pipeline of tokenizer.hpp, and encode/decode over it.
//
// Added-token ids follow the reference's loader, not the "id" fields: each added token takes the id
// its content already has (added earlier, or in the model vocabulary), else the next free id after
// the model vocabulary. For the files in use these agree with the "id" fields; a disagreement is
// reported as a warning, as the reference does.
#include "text/tokenizer.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "text/added_tokens.hpp"
#include "text/bpe.hpp"
#include "text/byte_level.hpp"
#include "text/normalizer.hpp"
#include "text/pre_tokenizer.hpp"
#include "text/tokenizer_json.hpp"
#include "text/unicode_additions.hpp"
#include "text/utf8.hpp"

namespace januskit::text {

using json = nlohmann::json;

enum class DecoderKind { join_with_spaces, byte_level };

struct TokenizerImpl {
  std::filesystem::path source;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  BpeModel model;

  // Added vocabulary: tokens by id (the last definition of an id wins), content -> id.
  std::map<int32_t, AddedToken> added;
  StringMap added_ids;
  StringMap special_contents;  // contents of special added tokens (value unused)
  AddedTokenMatcher raw_matcher, normalized_matcher;

  // Post-processor for a single sequence: ids before and after it (TemplateProcessing).
  std::vector<int32_t> post_prefix, post_suffix;
  // What the model's Python processor puts around a sequence (SpecialTokens::processor), the rule it
  // follows in words, and why it cannot be built when it cannot (then encoding with it throws).
  std::vector<int32_t> processor_prefix, processor_suffix;
  std::string processor_rule = "tokenizer.json's post-processor (no tokenizer_config.json read)";
  std::string processor_problem;
  DecoderKind decoder = DecoderKind::byte_level;

  // Per id: the token's spelling (as id_to_token returns it), what decode() emits for it, flags.
  std::string token_arena, decode_arena;
  std::vector<uint32_t> token_offset, decode_offset;  // size vocab_size + 1
  std::vector<uint8_t> flags;                         // kKnown | kSpecial
  static constexpr uint8_t kKnown = 1, kSpecial = 2;

  std::optional<std::string> bos, eos, pad, tokenizer_class;
  std::optional<bool> add_bos;

  size_t vocab_size() const { return flags.size(); }
  bool known(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < flags.size() && (flags[id] & kKnown); }
  bool special(int32_t id) const { return known(id) && (flags[id] & kSpecial); }
  std::string_view token(int32_t id) const {
    return std::string_view(token_arena).substr(token_offset[id], token_offset[id + 1] - token_offset[id]);
  }
  std::string_view decoded_piece(int32_t id) const {
    return std::string_view(decode_arena).substr(decode_offset[id], decode_offset[id + 1] - decode_offset[id]);
  }
  int32_t find_token(std::string_view t) const {
    int32_t id = added_ids.find(t);
    return id >= 0 ? id : model.token_to_id(t);
  }

  void encode(std::string_view text, std::vector<int32_t>& out, SpecialTokens special) const;
};

namespace {

// ---- JSON helpers ----------------------------------------------------------------------------

std::string type_of(const json& j, std::string_view where) {
  if (!j.is_object()) throw Error(cat(where, " is not a JSON object"));
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) throw Error(cat(where, " has no \"type\""));
  return it->get<std::string>();
}

bool get_bool(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw Error(cat("\"", key, "\" is not true/false"));
  return it->get<bool>();
}

const json& get_array(const json& j, const char* key, std::string_view where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) throw Error(cat(where, " has no \"", key, "\" list"));
  return *it;
}

// ---- components ------------------------------------------------------------------------------

void add_normalizer(const json& j, Normalizer& out) {
  if (j.is_null()) return;
  std::string type = type_of(j, "normalizer");
  if (type == "NFC") {
    out.add(Normalizer::Step::nfc);
  } else if (type == "Sequence") {
    for (const json& child : get_array(j, "normalizers", "normalizer Sequence")) add_normalizer(child, out);
  } else {
    throw Error(cat("unsupported normalizer type \"", type, "\" (januskit supports NFC, Sequence and none)"));
  }
}

SplitBehavior parse_behavior(const json& j) {
  std::string b = j.is_string() ? j.get<std::string>() : "";
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  throw Error(cat("unknown Split behavior ", j.dump(),
                  " (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)"));
}

void add_pre_tokenizer(const json& j, PreTokenizer& out) {
  if (j.is_null()) return;
  std::string type = type_of(j, "pre_tokenizer");
  if (type == "Sequence") {
    for (const json& child : get_array(j, "pretokenizers", "pre_tokenizer Sequence")) add_pre_tokenizer(child, out);
  } else if (type == "Split") {
    auto p = j.find("pattern");
    if (p == j.end() || !p->is_object()) throw Error("Split pre-tokenizer has no \"pattern\" object");
    Regex regex = [&] {
      if (auto r = p->find("Regex"); r != p->end() && r->is_string()) return Regex::oniguruma(r->get<std::string>());
      if (auto s = p->find("String"); s != p->end() && s->is_string()) return Regex::literal(s->get<std::string>());
      throw Error(cat("Split pattern ", p->dump(), " is neither {\"Regex\": ...} nor {\"String\": ...}"));
    }();
    auto behavior = j.find("behavior");
    if (behavior == j.end()) throw Error("Split pre-tokenizer has no \"behavior\"");
    out.add_split(std::move(regex), parse_behavior(*behavior), get_bool(j, "invert", false));
  } else if (type == "ByteLevel") {
    out.add_byte_level(get_bool(j, "add_prefix_space", true), get_bool(j, "use_regex", true));
  } else if (type == "Digits") {
    out.add_digits(get_bool(j, "individual_digits", false));
  } else {
    throw Error(cat("unsupported pre_tokenizer type \"", type,
                    "\" (januskit supports Sequence, Split, ByteLevel, Digits and none)"));
  }
}

// TemplateProcessing for one sequence: the special-token ids around "$A". Composition of several
// processors (Sequence) nests them: the later processor wraps the earlier one's output.
void add_post_processor(const json& j, const TokenizerImpl& impl, std::vector<int32_t>& prefix,
                        std::vector<int32_t>& suffix) {
  if (j.is_null()) return;
  std::string type = type_of(j, "post_processor");
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "Sequence") {
    for (const json& child : get_array(j, "processors", "post_processor Sequence")) {
      add_post_processor(child, impl, prefix, suffix);
    }
    return;
  }
  if (type != "TemplateProcessing") {
    throw Error(cat("unsupported post_processor type \"", type,
                    "\" (januskit supports TemplateProcessing, ByteLevel, Sequence and none)"));
  }
  const json& single = get_array(j, "single", "TemplateProcessing");
  auto specials = j.find("special_tokens");
  std::vector<int32_t> before, after;
  int sequences = 0;
  for (const json& piece : single) {
    if (auto seq = piece.find("Sequence"); seq != piece.end()) {
      if (seq->value("id", "A") != "A") throw Error("TemplateProcessing: the single template refers to sequence B");
      ++sequences;
      continue;
    }
    auto tok = piece.find("SpecialToken");
    if (tok == piece.end() || !tok->contains("id")) throw Error(cat("TemplateProcessing: unknown piece ", piece.dump()));
    std::string name = (*tok)["id"].get<std::string>();
    if (specials == j.end() || !specials->contains(name)) {
      throw Error(cat("TemplateProcessing: special token \"", name, "\" is not in its special_tokens"));
    }
    const json& ids = (*specials)[name].at("ids");
    std::vector<int32_t>& target = sequences == 0 ? before : after;
    for (const json& id : ids) {
      int32_t value = id.get<int32_t>();
      // The reference uses the ids written in the template; say so when the vocabulary disagrees.
      int32_t by_string = impl.find_token(name);
      if (ids.size() == 1 && by_string >= 0 && by_string != value) {
        log::warn(impl.source.string(), ": TemplateProcessing gives \"", name, "\" id ", value,
                  " but the vocabulary has it as ", by_string, "; using ", value, " as the reference does");
      }
      target.push_back(value);
    }
  }
  if (sequences != 1) throw Error("TemplateProcessing: the single template must contain $A exactly once");
  prefix.insert(prefix.begin(), before.begin(), before.end());
  suffix.insert(suffix.end(), after.begin(), after.end());
}

DecoderKind parse_decoder(const json& j) {
  if (j.is_null()) return DecoderKind::join_with_spaces;
  std::string type = type_of(j, "decoder");
  if (type == "ByteLevel") return DecoderKind::byte_level;
  if (type == "Sequence") {
    const json& list = get_array(j, "decoders", "decoder Sequence");
    if (list.size() == 1 && type_of(list[0], "decoder") == "ByteLevel") return DecoderKind::byte_level;
    std::string types;
    for (const json& d : list) types += (types.empty() ? "" : ", ") + type_of(d, "decoder");
    throw Error(cat("unsupported decoder Sequence [", types, "] (januskit supports ByteLevel alone)"));
  }
  throw Error(cat("unsupported decoder type \"", type, "\" (januskit supports ByteLevel, Sequence[ByteLevel] and none)"));
}

// ---- added tokens ----------------------------------------------------------------------------

AddedToken parse_added_token(const json& j, size_t index) {
  if (!j.is_object() || !j.contains("content") || !j["content"].is_string()) {
    throw Error(cat("added_tokens entry ", index, " has no \"content\" string"));
  }
  AddedToken t;
  t.content = j["content"].get<std::string>();
  t.special = get_bool(j, "special", false);
  t.normalized = get_bool(j, "normalized", !t.special);
  t.lstrip = get_bool(j, "lstrip", false);
  t.rstrip = get_bool(j, "rstrip", false);
  t.single_word = get_bool(j, "single_word", false);
  if (auto id = j.find("id"); id != j.end() && id->is_number_integer()) t.id = id->get<int32_t>();
  return t;
}

// The reference's AddedVocabulary::add_tokens: ids come from the content (earlier added token or
// model vocabulary), else are allocated after the model vocabulary / the largest added id.
void add_tokens(TokenizerImpl& impl, const std::vector<AddedToken>& tokens) {
  const int32_t model_size = static_cast<int32_t>(impl.model.size());
  int32_t next_id = model_size;
  if (!impl.added.empty()) {
    int32_t max = impl.added.rbegin()->first;
    next_id = (max >= model_size || model_size == 0) ? max + 1 : model_size;
  }
  for (AddedToken t : tokens) {
    if (t.content.empty()) continue;
    int32_t id = impl.find_token(t.content);
    if (id < 0) id = next_id++;
    if (t.id >= 0 && t.id != id) {
      log::warn(impl.source.string(), ": added token \"", t.content, "\" is listed with id ", t.id, " but gets id ", id,
                " (the reference's rule: the id its content already has, else the next free one)");
    }
    t.id = id;
    impl.added_ids.insert(t.content, id);
    if (t.special) impl.special_contents.insert(t.content, 1);
    impl.added[id] = std::move(t);
  }
}

std::string normalized_form(const TokenizerImpl& impl, const AddedToken& t) {
  if (!t.normalized || impl.normalizer.empty()) return t.content;
  std::string buffer;
  return std::string(impl.normalizer.apply(t.content, buffer));
}

void build_matchers(TokenizerImpl& impl) {
  std::vector<std::string> raw_patterns, norm_patterns;
  std::vector<const AddedToken*> raw_tokens, norm_tokens;
  for (const auto& [id, t] : impl.added) {
    if (t.normalized) {
      norm_patterns.push_back(normalized_form(impl, t));
      norm_tokens.push_back(&t);
    } else {
      raw_patterns.push_back(t.content);
      raw_tokens.push_back(&t);
    }
  }
  impl.raw_matcher.build(raw_patterns, raw_tokens);
  impl.normalized_matcher.build(norm_patterns, norm_tokens);
}

// Per-id tables for id_to_token, decode and is_special.
void build_id_tables(TokenizerImpl& impl) {
  int32_t max_id = impl.model.max_id();
  if (!impl.added.empty()) max_id = std::max(max_id, impl.added.rbegin()->first);
  const size_t n = static_cast<size_t>(max_id + 1);
  impl.flags.assign(n, 0);
  impl.token_offset.assign(n + 1, 0);
  impl.decode_offset.assign(n + 1, 0);
  impl.token_arena.clear();
  impl.decode_arena.clear();
  for (size_t id = 0; id < n; ++id) {
    impl.token_offset[id] = static_cast<uint32_t>(impl.token_arena.size());
    impl.decode_offset[id] = static_cast<uint32_t>(impl.decode_arena.size());
    std::string added_spelling;
    std::string_view spelling;
    if (auto it = impl.added.find(static_cast<int32_t>(id)); it != impl.added.end()) {
      // The reference decodes a normalized added token through its normalised form.
      added_spelling = normalized_form(impl, it->second);
      spelling = added_spelling;
    } else if (impl.model.has_id(static_cast<int32_t>(id))) {
      spelling = impl.model.id_to_token(static_cast<int32_t>(id));
    } else {
      continue;
    }
    uint8_t f = TokenizerImpl::kKnown;
    if (impl.special_contents.find(spelling) >= 0) f |= TokenizerImpl::kSpecial;
    impl.flags[id] = f;
    impl.token_arena += spelling;
    if (impl.decoder == DecoderKind::byte_level) {
      // Characters outside the byte-level alphabet (e.g. "<｜User｜>") are emitted as their UTF-8.
      if (!byte_level::append_bytes(spelling, impl.decode_arena)) impl.decode_arena += spelling;
    } else {
      impl.decode_arena += spelling;
    }
  }
  impl.token_offset[n] = static_cast<uint32_t>(impl.token_arena.size());
  impl.decode_offset[n] = static_cast<uint32_t>(impl.decode_arena.size());
}

// ---- model-folder configuration ----------------------------------------------------------------

std::optional<json> read_optional_json(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path.string(), "cannot be opened for reading");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw FileError(path.string(), cat("invalid JSON (", e.what(), ")"));
  }
}

// A special-token entry: "text", {"content": "text", ...} or null.
std::optional<std::string> token_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

struct SpecialTokenConfig {
  std::map<std::string, std::string> named;  // bos_token, eos_token, ... -> text
  std::vector<std::string> additional;
  std::optional<bool> add_bos, add_eos;
  std::optional<std::string> tokenizer_class;  // tokenizer_config.json's
};

// tokenizer_config.json, then special_tokens_map.json on top (transformers lets the latter win for
// the named tokens); additional_special_tokens from tokenizer_config.json when it lists them.
SpecialTokenConfig read_special_token_config(const std::filesystem::path& dir) {
  SpecialTokenConfig cfg;
  static const char* kNames[] = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
  bool additional_from_config = false;
  for (const char* file : {"tokenizer_config.json", "special_tokens_map.json"}) {
    std::optional<json> j = read_optional_json(dir / file);
    if (!j) continue;
    if (!j->is_object()) throw FileError((dir / file).string(), "is not a JSON object");
    for (const char* name : kNames) {
      if (auto it = j->find(name); it != j->end()) {
        if (auto text = token_text(*it)) cfg.named[name] = *text;
      }
    }
    if (auto it = j->find("additional_special_tokens"); it != j->end() && it->is_array() && !additional_from_config) {
      for (const json& v : *it) {
        if (auto text = token_text(v)) cfg.additional.push_back(*text);
      }
      additional_from_config = std::string(file) == "tokenizer_config.json" && !cfg.additional.empty();
    }
    if (std::string(file) != "tokenizer_config.json") continue;
    // Constructor arguments of the tokenizer class: transformers reads them from tokenizer_config.json.
    if (auto it = j->find("add_bos_token"); it != j->end() && it->is_boolean()) cfg.add_bos = it->get<bool>();
    if (auto it = j->find("add_eos_token"); it != j->end() && it->is_boolean()) cfg.add_eos = it->get<bool>();
    if (auto it = j->find("tokenizer_class"); it != j->end() && it->is_string()) cfg.tokenizer_class = it->get<std::string>();
  }
  return cfg;
}

// transformers 4.x classes whose constructor replaces tokenizer.json's post-processor by one built
// from add_bos_token / add_eos_token (update_post_processor). A slow class name in
// tokenizer_config.json loads its fast twin (AutoTokenizer, use_fast=True).
bool rebuilds_post_processor(std::string_view cls) {
  if (cls.ends_with("Fast")) cls.remove_suffix(4);
  return cls == "LlamaTokenizer" || cls == "CodeLlamaTokenizer" || cls == "GemmaTokenizer";
}

// SpecialTokens::processor for a model folder: the rule of rebuilds_post_processor, or the file's own
// post-processor for every other class. A BOS/EOS the rule wants but the folder does not name is a
// problem reported when that encoding is asked for (transformers 4.x raises in the constructor).
void set_processor_template(TokenizerImpl& impl, const SpecialTokenConfig& cfg, std::optional<std::string> cls) {
  impl.processor_prefix = impl.post_prefix;
  impl.processor_suffix = impl.post_suffix;
  if (!cls || !rebuilds_post_processor(*cls)) {
    impl.processor_rule = cls ? cat(*cls, " keeps tokenizer.json's post-processor")
                              : "tokenizer.json's post-processor (tokenizer_config.json names no tokenizer_class)";
    return;
  }
  impl.processor_prefix.clear();
  impl.processor_suffix.clear();
  const bool bos = cfg.add_bos.value_or(true), eos = cfg.add_eos.value_or(false);
  auto add = [&](const char* role, const std::optional<std::string>& token, std::vector<int32_t>& into) {
    const int32_t id = token ? impl.find_token(*token) : -1;
    if (id < 0) {
      impl.processor_problem = cat("tokenizer_config.json sets tokenizer_class ", *cls, ", whose transformers 4.x ",
                                   "processor adds a ", role, " token, but ",
                                   token ? cat("its ", role, " token \"", *token, "\" is not in the vocabulary")
                                         : cat("the folder names no ", role, "_token"),
                                   "; name it, or set add_", role, "_token to false");
      return;
    }
    into.push_back(id);
  };
  if (bos) add("bos", impl.bos, impl.processor_prefix);
  if (eos) add("eos", impl.eos, impl.processor_suffix);
  auto setting = [](const std::optional<bool>& v, bool fallback) {
    return v ? cat(*v ? "true" : "false") : cat("absent, default ", fallback ? "true" : "false");
  };
  impl.processor_rule = cat(*cls, " (transformers 4.x) adds ", bos ? cat("BOS ", impl.bos.value_or("(none named)")) : "no BOS",
                            " (add_bos_token ", setting(cfg.add_bos, true), ") and ",
                            eos ? cat("EOS ", impl.eos.value_or("(none named)")) : "no EOS", " (add_eos_token ",
                            setting(cfg.add_eos, false), "), whatever tokenizer.json's post-processor says");
}

// transformers adds declared special tokens that tokenizer.json lacks at the end of the vocabulary,
// in the order bos, eos, unk, sep, pad, cls, mask, then the additional ones.
void add_declared_special_tokens(TokenizerImpl& impl, const SpecialTokenConfig& cfg) {
  std::vector<AddedToken> missing;
  auto consider = [&](const std::string& text) {
    if (text.empty() || impl.find_token(text) >= 0) return;
    for (const AddedToken& t : missing) {
      if (t.content == text) return;
    }
    AddedToken t;
    t.content = text;
    t.special = true;
    t.normalized = false;
    missing.push_back(std::move(t));
  };
  for (const char* name : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    if (auto it = cfg.named.find(name); it != cfg.named.end()) consider(it->second);
  }
  for (const std::string& text : cfg.additional) consider(text);
  if (missing.empty()) return;
  for (const AddedToken& t : missing) {
    log::debug(impl.source.string(), ": special token \"", t.content, "\" is declared by the model folder but not in ",
               "tokenizer.json; adding it after the vocabulary as transformers does");
  }
  add_tokens(impl, missing);
}

std::shared_ptr<TokenizerImpl> parse_tokenizer_json(std::string_view text, const std::filesystem::path& source) {
  auto impl = std::make_shared<TokenizerImpl>();
  impl->source = source;
  try {
    TokenizerJson doc = read_tokenizer_json(text);
    const json& j = doc.root;
    if (!j.is_object()) throw Error("is not a JSON object");
    auto model = j.find("model");
    if (model == j.end() || !model->is_object()) throw Error("has no \"model\" object");
    if (auto t = model->find("type"); t != model->end() && (!t->is_string() || t->get<std::string>() != "BPE")) {
      throw Error(cat("unsupported model type ", t->dump(), " (januskit supports BPE)"));
    }
    if (!doc.has_merges) throw Error("model has no \"merges\" (januskit supports BPE models)");
    add_normalizer(j.value("normalizer", json()), impl->normalizer);
    add_pre_tokenizer(j.value("pre_tokenizer", json()), impl->pre_tokenizer);
    impl->model = BpeModel::from_json(*model, doc, impl->pre_tokenizer.byte_level());
    impl->decoder = parse_decoder(j.value("decoder", json()));

    std::vector<AddedToken> added;
    if (auto list = j.find("added_tokens"); list != j.end() && !list->is_null()) {
      if (!list->is_array()) throw Error("\"added_tokens\" is not a list");
      for (size_t k = 0; k < list->size(); ++k) added.push_back(parse_added_token((*list)[k], k));
    }
    add_tokens(*impl, added);
    add_post_processor(j.value("post_processor", json()), *impl, impl->post_prefix, impl->post_suffix);
    impl->processor_prefix = impl->post_prefix;  // until a model folder's tokenizer_config.json says otherwise
    impl->processor_suffix = impl->post_suffix;
    for (const char* key : {"truncation", "padding"}) {
      if (auto it = j.find(key); it != j.end() && !it->is_null()) {
        log::debug(source.string(), ": \"", key, "\" is set and ignored (januskit never truncates or pads prompts)");
      }
    }
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(source.string(), e.what());
  } catch (const json::exception& e) {
    throw FileError(source.string(), cat("unexpected structure (", e.what(), ")"));
  }
  return impl;
}

void finish(TokenizerImpl& impl) {
  build_matchers(impl);
  build_id_tables(impl);
}

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw FileError(path.string(), "does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path.string(), "cannot be opened for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

}  // namespace

// ---- encode ------------------------------------------------------------------------------------

void TokenizerImpl::encode(std::string_view text, std::vector<int32_t>& out, SpecialTokens special) const {
  if (special == SpecialTokens::processor && !processor_problem.empty()) throw FileError(source.string(), processor_problem);
  const std::vector<int32_t>* prefix = nullptr;
  const std::vector<int32_t>* suffix = nullptr;
  if (special == SpecialTokens::tokenizer_json) prefix = &post_prefix, suffix = &post_suffix;
  if (special == SpecialTokens::processor) prefix = &processor_prefix, suffix = &processor_suffix;
  if (size_t bad = utf8::find_invalid(text); bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw Error(cat("input text is not valid UTF-8 (byte ", hex, " at offset ", bad,
                    "); convert it to UTF-8 first, e.g. iconv -f LATIN1 -t UTF-8"));
  }
  struct Workspace {
    std::vector<AddedTokenMatcher::Segment> raw, normalized;
    std::vector<std::string_view> pieces;
    std::string buffer;
    PreTokenizer::Workspace pre;
  };
  thread_local Workspace ws;
  // Characters newer than PCRE2's Unicode tables are rare; without them the faster form of every
  // pre-tokenizer regex gives identical splits (regex.hpp).
  const bool recent = has_unicode_additions(text);
  // encode() may be re-entered on this thread only through a nested call, which never happens; the
  // workspace just keeps its capacity between calls.
  ws.raw.clear();
  if (prefix != nullptr) out.insert(out.end(), prefix->begin(), prefix->end());

  auto encode_plain = [&](std::string_view span) {
    ws.pieces.clear();
    ws.pre.owned.clear();
    pre_tokenizer.run(span, ws.pre, ws.pieces, recent);
    for (std::string_view piece : ws.pieces) model.encode(piece, out);
  };

  raw_matcher.split(text, ws.raw);
  for (const auto& seg : ws.raw) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
      continue;
    }
    std::string_view normalized = normalizer.apply(seg.text, ws.buffer);
    if (normalized_matcher.empty()) {
      encode_plain(normalized);
      continue;
    }
    ws.normalized.clear();
    normalized_matcher.split(normalized, ws.normalized);
    for (const auto& sub : ws.normalized) {
      if (sub.id >= 0) out.push_back(sub.id);
      else encode_plain(sub.text);
    }
  }
  if (suffix != nullptr) out.insert(out.end(), suffix->begin(), suffix->end());
}

// ---- Tokenizer -----------------------------------------------------------------------------------

Tokenizer Tokenizer::from_json_text(std::string_view json_text, const std::filesystem::path& source) {
  auto impl = parse_tokenizer_json(json_text, source);
  finish(*impl);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::load(const std::filesystem::path& path, const TokenizerLoadOptions& options) {
  Stopwatch watch;
  std::error_code ec;
  const bool is_dir = std::filesystem::is_directory(path, ec);
  std::filesystem::path file = is_dir ? path / "tokenizer.json" : path;
  if (is_dir && !std::filesystem::exists(file, ec)) {
    throw FileError(path.string(), "has no tokenizer.json (expected a model folder or a tokenizer.json file)");
  }
  std::string text = read_file(file);
  auto impl = parse_tokenizer_json(text, file);
  if (is_dir) {
    SpecialTokenConfig cfg = read_special_token_config(path);
    add_declared_special_tokens(*impl, cfg);
    auto named = [&](const char* name) -> std::optional<std::string> {
      auto it = cfg.named.find(name);
      return it == cfg.named.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    impl->bos = named("bos_token");
    impl->eos = named("eos_token");
    impl->pad = named("pad_token");
    impl->add_bos = cfg.add_bos;
    impl->tokenizer_class = cfg.tokenizer_class;
    set_processor_template(*impl, cfg, options.processor_class ? options.processor_class : cfg.tokenizer_class);
  }
  finish(*impl);
  log::debug("tokenizer ", file.string(), ": ", impl->model.size(), " vocab entries, ", impl->model.merge_count(),
             " merges, ", impl->added.size(), " added tokens, loaded in ", static_cast<int>(watch.milliseconds()), " ms");
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, SpecialTokens special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  impl_->encode(text, out, special);
  return out;
}

void Tokenizer::encode_into(std::string_view text, std::vector<int32_t>& out, SpecialTokens special) const {
  impl_->encode(text, out, special);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const TokenizerImpl& impl = *impl_;
  std::string bytes;
  bool first = true;
  for (int32_t id : ids) {
    if (!impl.known(id) || (skip_special_tokens && impl.special(id))) continue;
    if (impl.decoder == DecoderKind::join_with_spaces && !first) bytes += ' ';
    bytes += impl.decoded_piece(id);
    first = false;
  }
  return impl.decoder == DecoderKind::byte_level ? utf8::to_valid_lossy(bytes) : bytes;
}

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  int32_t id = impl_->find_token(token);
  return id >= 0 ? std::optional<int32_t>(id) : std::nullopt;
}

int32_t Tokenizer::require_token_id(std::string_view token) const {
  int32_t id = impl_->find_token(token);
  if (id < 0) {
    throw FileError(impl_->source.string(), cat("has no token \"", token, "\" (is this the right model's tokenizer?)"));
  }
  return id;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (!impl_->known(id)) {
    throw Error(cat("token id ", id, " is not in the vocabulary of ", impl_->source.string(), " (", impl_->vocab_size(),
                    " ids)"));
  }
  return std::string(impl_->token(id));
}

bool Tokenizer::is_special(int32_t id) const { return impl_->special(id); }
size_t Tokenizer::vocab_size() const { return impl_->vocab_size(); }
std::optional<std::string> Tokenizer::bos_token() const { return impl_->bos; }
std::optional<std::string> Tokenizer::eos_token() const { return impl_->eos; }
std::optional<std::string> Tokenizer::pad_token() const { return impl_->pad; }
std::optional<bool> Tokenizer::add_bos_token() const { return impl_->add_bos; }
std::optional<std::string> Tokenizer::tokenizer_class() const { return impl_->tokenizer_class; }
const std::string& Tokenizer::processor_rule() const { return impl_->processor_rule; }
const std::filesystem::path& Tokenizer::source() const { return impl_->source; }

// ---- StreamingDecoder ----------------------------------------------------------------------------

StreamingDecoder::StreamingDecoder(const Tokenizer& tok, bool skip_special_tokens)
    : impl_(tok.impl_), skip_special_(skip_special_tokens) {}

std::string StreamingDecoder::push(int32_t id) {
  const TokenizerImpl& impl = *impl_;
  std::string out;
  if (!impl.known(id) || (skip_special_ && impl.special(id))) return out;
  if (impl.decoder == DecoderKind::join_with_spaces) {
    if (!first_) out += ' ';
    out += impl.decoded_piece(id);
  } else {
    pending_ += impl.decoded_piece(id);
    utf8::drain_complete(pending_, out);
  }
  first_ = false;
  return out;
}

std::string StreamingDecoder::finish() {
  std::string out = utf8::to_valid_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace januskit::text
