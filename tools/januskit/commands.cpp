#include "commands.hpp"

namespace januskit::cli {

void add_model_flags(CLI::App& cmd, ModelFlags& flags) {
  cmd.add_option("-m,--model", flags.model,
                 "Model folder (config.json + weights + tokenizer.json); default: the bundled demo model");
  cmd.add_option("--device", flags.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd.add_option("--dtype", flags.dtype, "auto (bf16 on CUDA and on CPUs with AVX512-BF16 or AMX, f32 on other CPUs), f32 (bit-exact reference runs), bf16 or f16")
      ->capture_default_str();
  cmd.add_option("--quant", flags.quant,
                 "Weight-only quantization of the linear layers at load time: none, int8 (per output channel) or "
                 "int4 (groups of --group-size); default: as the folder is (a GPTQ folder runs quantized)");
  cmd.add_option("--group-size", flags.group_size, "Inputs per int4/int8 scale: 32, 64, 128, or -1 per output channel "
                                                   "(default: int4 32, int8 per channel)");
  cmd.add_option("--threads", flags.threads, "CPU threads (default: one per core)");
}

void add_chat_format_flags(CLI::App& cmd, std::string& chat_format, bool& no_think) {
  cmd.add_option("--chat-format", chat_format,
                 std::string("Prompt format: ") + std::string(text::chat_format_choices()) +
                     " (auto: from config.json and the chat template)")
      ->capture_default_str();
  cmd.add_flag("--no-think", no_think,
               "Ask for an answer without reasoning (Qwen3's enable_thinking=false; other formats close the "
               "reasoning block at once)");
}

pipelines::SamplingGiven sampling_given(const CLI::App& cmd) {
  auto given = [&](const char* name) { return cmd.get_option_no_throw(name) && cmd.count(name) > 0; };
  return {given("--temperature"), given("--top-p"), given("--top-k"), given("--min-p"), given("--repeat-penalty")};
}

void add_all_commands(CLI::App& app) {
  add_generate_command(app);
#ifdef JANUSKIT_HAVE_OPENCV  // builds with JANUSKIT_OPENCV=OFF cannot read images nor draw contact sheets
  add_gallery_command(app);
  add_describe_command(app);
#endif
  add_ask_command(app);
  add_chat_command(app);
  add_tokenize_command(app);
  add_info_command(app);
  add_convert_command(app);
  add_meta_command(app);
#ifdef JANUSKIT_HAVE_OPENCV  // nor draw the demo trainer's shapes
  add_train_demo_command(app);
#endif
  add_bench_command(app);
#ifdef JANUSKIT_HAVE_SERVE  // needs cpp-httplib and OpenCV (image parts)
  add_serve_command(app);
#endif
}

}  // namespace januskit::cli
