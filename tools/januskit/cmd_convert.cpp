// `januskit convert MODEL OUT [--dtype bf16|f16|f32] [--shard-size 5GB]`: any checkpoint to sharded safetensors.
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "core/device.hpp"
#include "core/error.hpp"
#include "io/convert.hpp"
#include "io/model_info.hpp"

namespace januskit::cli {

void add_convert_command(CLI::App& app) {
  struct Flags {
    std::string model, out;
    std::string dtype = "keep";
    std::string shard_size = "5GB";
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("convert", "Write a model's weights as sharded safetensors (+ index) into a new folder");
  cmd->add_option("MODEL", flags->model, "Model folder or one weights file (.safetensors, .bin, .pt, .pth)")->required();
  cmd->add_option("OUT", flags->out, "New output folder (must not exist; written atomically)")->required();
  cmd->add_option("--dtype", flags->dtype, "keep, bf16, f16 or f32 (floating-point tensors only)")->capture_default_str();
  cmd->add_option("--shard-size", flags->shard_size, "Largest shard, e.g. 5GB, 500MB, 2GiB")->capture_default_str();
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
    const io::ConvertResult r = io::convert_model(flags->model, flags->out, options);
    std::cout << "wrote " << r.out.string() << ": " << r.tensors << " tensors, " << io::format_bytes(r.tensor_bytes)
              << " in " << r.shards.size() << (r.shards.size() == 1 ? " shard" : " shards") << ", " << r.copied.size()
              << " other files copied, " << std::fixed << std::setprecision(1) << r.seconds << " s\n";
  });
}

}  // namespace januskit::cli
