// `januskit convert MODEL OUT [--dtype bf16|f16|f32] [--shard-size 5GB] [--quant int8|int4 [--group-size G]]`:
// any checkpoint to sharded safetensors, optionally as a GPTQ-quantized folder.
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "core/device.hpp"
#include "core/error.hpp"
#include "io/convert.hpp"
#include "io/model_info.hpp"
#include "pipelines/convert_checkpoint.hpp"
#include "pipelines/text_model.hpp"

namespace januskit::cli {

void add_convert_command(CLI::App& app) {
  struct Flags {
    std::string model, out;
    std::string dtype = "keep";
    std::string shard_size = "5GB";
    std::string quant;
    int64_t group_size = 0;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("convert", "Write a model's weights as sharded safetensors (+ index) into a new folder");
  cmd->add_option("MODEL", flags->model, "Model folder or one weights file (.safetensors, .bin, .pt, .pth)")->required();
  cmd->add_option("OUT", flags->out, "New output folder (must not exist; written atomically)")->required();
  cmd->add_option("--dtype", flags->dtype, "keep, bf16, f16 or f32 (floating-point tensors only)")->capture_default_str();
  cmd->add_option("--shard-size", flags->shard_size, "Largest shard, e.g. 5GB, 500MB, 2GiB")->capture_default_str();
  cmd->add_option("--quant", flags->quant,
                  "Quantize the linear layers: int8 (per output channel) or int4, written as a GPTQ checkpoint "
                  "(qweight/qzeros/scales, quantization_config) that transformers and vLLM also read");
  cmd->add_option("--group-size", flags->group_size, "Inputs per scale: 32, 64, 128 or -1 per channel (default: int4 32, int8 per channel)");
  cmd->callback([flags] {
    io::ConvertOptions options;
    options.shard_size = io::parse_size(flags->shard_size);
    if (flags->dtype != "keep") {
      // parse_dtype knows the spellings (f32/float32/fp32, ...); convert has "keep" instead of "auto".
      const auto request = [&] {
        try {
          return parse_dtype(flags->dtype);
        } catch (const UsageError&) {
          return DTypeRequest::automatic;
        }
      }();
      if (request == DTypeRequest::automatic) {
        throw UsageError(cat("--dtype: expected keep, bf16, f16 or f32, got '", flags->dtype, "'"));
      }
      options.dtype = resolve_dtype(request, c10::Device(c10::kCPU));
    }
    pipelines::ModelRequest quant_flags;
    quant_flags.quant = flags->quant;
    quant_flags.group_size = flags->group_size;
    const io::ConvertResult r =
        pipelines::convert_checkpoint(flags->model, flags->out, options, pipelines::quant_choice(quant_flags));
    std::cout << "wrote " << r.out.string() << ": " << r.tensors << " tensors, " << io::format_bytes(r.tensor_bytes)
              << " in " << r.shards.size() << (r.shards.size() == 1 ? " shard" : " shards") << ", " << r.copied.size()
              << " other files copied, " << std::fixed << std::setprecision(1) << r.seconds << " s\n";
  });
}

}  // namespace januskit::cli
