#include "commands.hpp"

namespace januskit::cli {

void add_model_flags(CLI::App& cmd, ModelFlags& flags) {
  cmd.add_option("-m,--model", flags.model,
                 "Model folder (config.json + weights + tokenizer.json); default: the bundled demo model");
  cmd.add_option("--device", flags.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cmd.add_option("--dtype", flags.dtype, "auto (bf16 on CUDA, f32 on CPU), f32, bf16 or f16")->capture_default_str();
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
}

}  // namespace januskit::cli
