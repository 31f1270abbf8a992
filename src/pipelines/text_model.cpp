#include "pipelines/text_model.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/device.hpp"
#include "core/json_util.hpp"
#include "io/model_dir.hpp"
#include "core/log.hpp"
#include "core/timer.hpp"
#include "models/registry.hpp"
#include "pipelines/model_location.hpp"

namespace januskit::pipelines {
namespace {

void add_unique(std::vector<int32_t>& ids, int32_t id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

// EOS ids: the tokenizer's EOS string looked up by string (never config.json's ids, which are wrong for
// the Qwen distills), plus any ids generation_config.json lists.
std::vector<int32_t> find_eos_ids(const io::ModelDir& dir, const text::Tokenizer& tok) {
  std::vector<int32_t> ids;
  for (const char* name : {"<｜end▁of▁sentence｜>"}) {
    if (auto id = tok.token_id(name)) add_unique(ids, *id);
  }
  if (auto eos = tok.eos_token()) {
    if (auto id = tok.token_id(*eos)) add_unique(ids, *id);
  }
  if (dir.generation_config_json) {
    auto gen = io::read_json_file(*dir.generation_config_json);
    auto it = gen.find("eos_token_id");
    if (it != gen.end()) {
      if (it->is_number_integer()) add_unique(ids, it->get<int32_t>());
      if (it->is_array()) {
        for (const auto& v : *it) {
          if (v.is_number_integer()) add_unique(ids, v.get<int32_t>());
        }
      }
    }
  }
  return ids;
}

}  // namespace

models::QuantChoice quant_choice(const ModelRequest& request) {
  models::QuantChoice choice;
  if (request.quant.empty()) {
    if (request.group_size != 0) throw UsageError("--group-size needs --quant int4 or int8");
    return choice;
  }
  choice.given = true;
  choice.spec = nn::parse_quant(request.quant, request.group_size);
  return choice;
}

void apply_threads(const ModelRequest& request) {
  if (request.threads < 0) throw UsageError(cat("--threads: expected a positive count, got ", request.threads));
  if (request.threads > 0) at::set_num_threads(request.threads);
}

TextModel load_text_model(const ModelRequest& request, std::string_view demo_name) {
  apply_threads(request);
  c10::Device device = resolve_device(parse_device(request.device));
  c10::ScalarType dtype = resolve_dtype(parse_dtype(request.dtype), device);
  std::filesystem::path folder = resolve_model_dir(request.model, demo_name);
  Stopwatch clock;
  TextModel m{io::ModelDir::open(folder), nullptr, text::Tokenizer::load(folder), {}, {}, {}, folder.filename().string()};
  if (m.name.empty()) m.name = folder.parent_path().filename().string();
  m.model = models::load_text_decoder(m.dir, device, dtype, quant_choice(request));
  m.eos_ids = find_eos_ids(m.dir, m.tokenizer);
  if (m.eos_ids.empty()) {
    throw FileError(folder.string(), "no end-of-sentence token found in tokenizer.json/tokenizer_config.json");
  }
  m.bos_text = m.tokenizer.bos_token().value_or("<｜begin▁of▁sentence｜>");
  m.think_end_id = m.tokenizer.token_id("</think>");
  m.think_open_id = m.tokenizer.token_id("<think>");
  if (m.dir.generation_config_json) m.generation_config = io::read_json_file(*m.dir.generation_config_json);
  log::info("loaded ", m.name, " on ", device_name(device), " (", dtype_name(dtype), ", ", m.model->describe_weights(),
            ") in ", format_seconds(clock.seconds()));
  return m;
}

namespace {

// tokenizer_config.json's chat_template (a string, or a list of {name, template} where "default"
// is the one used), else a chat_template.jinja file beside it (newer transformers save it there).
void find_chat_template(const TextModel& m, text::ChatFormatEvidence& e) {
  if (m.dir.tokenizer_config_json) {
    const nlohmann::json cfg = io::read_json_file(*m.dir.tokenizer_config_json);
    auto it = cfg.find("chat_template");
    if (it != cfg.end() && it->is_string()) {
      e.chat_template = it->get<std::string>();
    } else if (it != cfg.end() && it->is_array()) {
      for (const auto& t : *it) {
        if (t.is_object() && t.value("name", "") == "default" && t.contains("template") && t["template"].is_string()) {
          e.chat_template = t["template"].get<std::string>();
        }
      }
    }
    if (e.chat_template) {
      e.template_file = m.dir.tokenizer_config_json->string();
      return;
    }
  }
  const std::filesystem::path jinja = m.dir.root / "chat_template.jinja";
  if (std::filesystem::is_regular_file(jinja)) {
    std::ifstream in(jinja, std::ios::binary);
    if (!in) throw FileError(jinja.string(), "cannot be read");
    e.chat_template = std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    e.template_file = jinja.string();
  }
}

}  // namespace

text::DetectedFormat choose_chat_format(const TextModel& m, std::string_view requested) {
  if (requested != "auto") return {text::parse_chat_format(requested), "--chat-format"};
  text::ChatFormatEvidence e;
  e.folder = m.dir.root.string();
  auto arch = m.dir.config.find("architectures");
  if (arch != m.dir.config.end() && arch->is_array()) {
    for (const auto& a : *arch) {
      if (a.is_string()) e.architectures.push_back(a.get<std::string>());
    }
  }
  find_chat_template(m, e);
  e.has_r1_role_tokens = m.tokenizer.token_id(text::kR1User) && m.tokenizer.token_id(text::kR1Assistant);
  return text::detect_chat_format(e);
}

std::vector<int32_t> stop_ids(const TextModel& m, const std::optional<text::ChatFormat>& format) {
  std::vector<int32_t> ids = m.eos_ids;
  if (format) {
    auto end = m.tokenizer.token_id(text::turn_end_text(*format));
    if (end && std::find(ids.begin(), ids.end(), *end) == ids.end()) ids.push_back(*end);
  }
  return ids;
}

engine::SamplingOptions with_folder_sampling(const TextModel& m, engine::SamplingOptions s, const SamplingGiven& given) {
  const nlohmann::json& g = m.generation_config;
  auto number = [&](const char* key, bool user_gave, auto& field) {
    auto it = g.find(key);
    if (!user_gave && it != g.end() && it->is_number()) field = it->get<std::decay_t<decltype(field)>>();
  };
  number("temperature", given.temperature, s.temperature);
  number("top_p", given.top_p, s.top_p);
  number("top_k", given.top_k, s.top_k);
  number("min_p", given.min_p, s.min_p);
  number("repetition_penalty", given.repetition_penalty, s.repetition_penalty);
  // transformers decodes greedily when do_sample is false, whatever the temperature says.
  auto sample = g.find("do_sample");
  if (!given.temperature && sample != g.end() && sample->is_boolean() && !sample->get<bool>()) s.temperature = 0;
  return s;
}

}  // namespace januskit::pipelines
