// A loaded R1-style text model: the decoder, its tokenizer, and the token conventions of its folder
// (EOS ids, BOS text, the </think> token), shared by `ask` and `chat`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/language_model.hpp"
#include "engine/sampler.hpp"
#include "models/linear_loading.hpp"
#include "io/model_dir.hpp"
#include "text/chat_format.hpp"
#include "text/tokenizer.hpp"

namespace januskit::pipelines {

// The library twin of the CLI's -m/--device/--dtype/--quant/--group-size flags.
struct ModelRequest {
  std::string model;            // folder; empty = the bundled demo model
  std::string device = "auto";  // auto|cpu|cuda|cuda:N
  std::string dtype = "auto";   // auto|f32|bf16|f16
  std::string quant{};          // none|int8|int4; empty = as the folder is
  int64_t group_size = 0;       // --group-size (int4: 32/64/128, -1 per channel); 0 = the default
  int threads = 0;              // CPU threads (at::set_num_threads); 0 = LibTorch's default
};

// Applies request.threads (UsageError when negative); the loaders call it before building a model.
void apply_threads(const ModelRequest& request);

// --quant/--group-size of a request; throws UsageError for values nn::parse_quant refuses.
models::QuantChoice quant_choice(const ModelRequest& request);

struct TextModel {
  io::ModelDir dir;
  std::unique_ptr<engine::LanguageModel> model;
  text::Tokenizer tokenizer;
  std::vector<int32_t> eos_ids;          // by string from the tokenizer files, plus generation_config.json
  std::string bos_text;                  // e.g. "<｜begin▁of▁sentence｜>"
  std::optional<int32_t> think_end_id;   // "</think>" when it is one token
  std::string name;                      // folder name, for reports
  std::optional<int32_t> think_open_id{};  // "<think>" when it is one token
  nlohmann::json generation_config = nlohmann::json::object();  // generation_config.json, if any
};

// The prompt format to use: `requested` ("auto" or a format name) or, for "auto", what the folder's
// config.json architectures and chat template say (text::detect_chat_format; it throws naming
// --chat-format when they say nothing januskit knows).
text::DetectedFormat choose_chat_format(const TextModel& model, std::string_view requested);

// The ids generation stops at: the folder's (the tokenizer's EOS, generation_config.json's
// eos_token_id list) and, for a chat format, its turn end (text::turn_end_text).
std::vector<int32_t> stop_ids(const TextModel& model, const std::optional<text::ChatFormat>& format);

// Which sampling settings the user gave on the command line; the others come from the folder.
struct SamplingGiven {
  bool temperature = false, top_p = false, top_k = false, min_p = false, repetition_penalty = false;
};

// `base` with the vendor's recommendations from generation_config.json (temperature, top_p, top_k,
// min_p, repetition_penalty; do_sample false = greedy) for every setting not in `given`.
engine::SamplingOptions with_folder_sampling(const TextModel& model, engine::SamplingOptions base,
                                             const SamplingGiven& given);

// demo_name: the bundled model used when request.model is empty.
TextModel load_text_model(const ModelRequest& request, std::string_view demo_name = "demo-r1");

}  // namespace januskit::pipelines
