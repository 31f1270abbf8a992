#include "pipelines/text_model.hpp"

#include <ATen/Parallel.h>

#include <algorithm>

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
  log::info("loaded ", m.name, " on ", device_name(device), " (", dtype_name(dtype), ", ", m.model->describe_weights(),
            ") in ", format_seconds(clock.seconds()));
  return m;
}

}  // namespace januskit::pipelines
