#include "pipelines/generate_images.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/timer.hpp"
#ifdef JANUSKIT_HAVE_OPENCV
#include "io/contact_sheet.hpp"
#endif
#include "io/image.hpp"
#include "io/png.hpp"
#include "pipelines/janus_model.hpp"
#include "text/chat.hpp"

namespace januskit::pipelines {

std::vector<std::filesystem::path> output_files(const std::string& spec, int64_t n) {
  namespace fs = std::filesystem;
  if (spec.empty()) throw UsageError("-o/--output: empty path");
  std::vector<fs::path> out;
  const size_t percent = spec.find('%');
  if (percent != std::string::npos) {
    // Accept exactly one integer conversion (%d, %03d, ...) and nothing else.
    size_t conv = spec.find_first_not_of("0123456789", percent + 1);
    if (conv == std::string::npos || spec[conv] != 'd' || spec.find('%', conv) != std::string::npos) {
      throw UsageError(cat("-o/--output: '", spec, "' must contain one integer pattern such as %03d"));
    }
    for (int64_t i = 1; i <= n; ++i) {
      char buf[4096];
      std::snprintf(buf, sizeof buf, spec.c_str(), static_cast<int>(i));
      out.emplace_back(buf);
    }
    return out;
  }
  const bool folder = spec.back() == '/' || fs::is_directory(spec);
  if (folder) {
    for (int64_t i = 1; i <= n; ++i) out.push_back(fs::path(spec) / cat("januskit_", i, ".png"));
    return out;
  }
  fs::path file(spec);
  if (file.extension() != ".png") throw UsageError(cat("-o/--output: '", spec, "' must end in .png (januskit writes PNG)"));
  if (n == 1) return {file};
  for (int64_t i = 1; i <= n; ++i) {
    out.push_back(file.parent_path() / cat(file.stem().string(), "_", i, file.extension().string()));
  }
  return out;
}

std::string image_parameters(const std::string& prompt, uint64_t seed, const GenerateOptions& o, int64_t steps,
                             int64_t size, const std::string& model) {
  return cat(prompt, "\nSteps: ", steps, ", CFG scale: ", o.cfg, ", Temperature: ", o.temperature, ", Top-k: ", o.top_k,
             ", Seed: ", seed, ", Size: ", size, "x", size, ", Model: ", model, ", Version: januskit ",
             januskit_version());
}

namespace {

// out.png -> out_grid.png; a folder -> FOLDER/januskit_grid.png; out_%03d.png -> out_grid.png.
[[maybe_unused]] std::filesystem::path grid_file(const std::string& spec, const std::filesystem::path& first_image) {
  std::filesystem::path dir = first_image.parent_path();
  if (spec.back() == '/' || std::filesystem::is_directory(spec)) return dir / "januskit_grid.png";
  std::string stem = std::filesystem::path(spec).stem().string();
  if (size_t percent = stem.find('%'); percent != std::string::npos) {
    size_t end = stem.find('d', percent);
    stem.erase(percent, end - percent + 1);
    while (!stem.empty() && (stem.back() == '_' || stem.back() == '-')) stem.pop_back();
  }
  return dir / ((stem.empty() ? "januskit" : stem) + "_grid.png");
}

// Conditional prompt: "<|User|>: {prompt}\n\n<|Assistant|>:<begin_of_image>" with BOS. Unconditional: the
// same length with everything but the first (BOS) and last (<begin_of_image>) token set to pad.
engine::ImageRequest image_request(const JanusBundle& b, const std::string& prompt, uint64_t seed) {
  engine::ImageRequest r;
  r.cond_ids = b.tokenizer.encode(text::render_janus_t2i(prompt), /*add_special_tokens=*/true);
  if (r.cond_ids.empty() || r.cond_ids.front() != b.bos) r.cond_ids.insert(r.cond_ids.begin(), b.bos);
  if (r.cond_ids.back() != b.begin_of_image) {
    throw Error("the text-to-image prompt does not end with <begin_of_image>; the tokenizer split it");
  }
  r.uncond_ids = r.cond_ids;
  for (size_t i = 1; i + 1 < r.uncond_ids.size(); ++i) r.uncond_ids[i] = b.pad;
  r.seed = seed;
  return r;
}

}  // namespace

GenerateResult generate_images(const GenerateOptions& o) {
  if (o.prompts.empty()) throw UsageError("generate: give at least one prompt");
  for (const auto& p : o.prompts) {
    if (p.find_first_not_of(" \t\r\n") == std::string::npos) throw UsageError("generate: a prompt is empty");
  }
  if (o.count < 1) throw UsageError("-n/--count must be at least 1");
  if (o.batch < 0) throw UsageError("--batch must be >= 0");
#ifndef JANUSKIT_HAVE_OPENCV
  if (o.grid) throw UsageError("--grid needs a januskit built with OpenCV (this one has JANUSKIT_OPENCV=OFF)");
#endif
  const int64_t total = static_cast<int64_t>(o.prompts.size()) * o.count;
  std::vector<std::filesystem::path> files = output_files(o.output, total);

  JanusBundle b = load_janus(o.model, {.understanding = false, .generation = true, .vq_encoder = false});
  const uint64_t seed = o.seed.value_or(random_seed());
  GenerateOptions resolved = o;
  resolved.seed = seed;
  const int64_t steps = b.model->tokens_per_image();
  const int64_t size = b.model->config().vq.image_size();

  std::vector<engine::ImageRequest> requests;
  std::vector<std::string> prompt_of;
  for (const auto& p : o.prompts) {
    for (int64_t j = 0; j < o.count; ++j) {
      requests.push_back(image_request(b, p, seed + requests.size()));
      prompt_of.push_back(p);
    }
  }

  GenerateResult result;
  result.model = b.name;
  const int64_t per_batch = o.batch > 0 ? o.batch : total;
  const int64_t batches = (total + per_batch - 1) / per_batch;
  ProgressBar bar(steps * batches, "generate", "step");
  engine::ImageGenerator generator(*b.model);
  engine::ImageGenerationOptions gen{o.cfg, o.temperature, o.top_k, 1.0};
  Stopwatch clock;
  double decode_seconds = 0;
  std::vector<io::RgbImage> pictures;
  for (int64_t first = 0, done_steps = 0; first < total; first += per_batch) {
    const int64_t n = std::min(per_batch, total - first);
    std::vector<engine::ImageRequest> slice(requests.begin() + first, requests.begin() + first + n);
    auto out = generator.generate(slice, gen, [&](int64_t s, int64_t) {
      bar.update(done_steps + s);
      bar.set_postfix(cat(format_rate(rate(double(done_steps + s) * n, bar.elapsed_seconds()), "tok")));
    });
    done_steps += steps;
    decode_seconds += out.decode_seconds;
    // Decode and write one image at a time: each file lands as soon as it exists.
    for (int64_t i = 0; i < n; ++i) {
      const int64_t index = first + i;
      at::Tensor row = out.tokens.narrow(0, i, 1);
      at::Tensor pixels = models::to_uint8_images(b.model->decode_images(row)).to(at::kCPU);
      const uint64_t image_seed = requests[static_cast<size_t>(index)].seed;
      io::write_png(files[static_cast<size_t>(index)], pixels.data_ptr<uint8_t>(), size, size,
                    {{"parameters", image_parameters(prompt_of[index], image_seed, resolved, steps, size, b.name)}});
      std::vector<int32_t> tokens(row.numel());
      auto acc = row.accessor<int64_t, 2>();
      for (int64_t k = 0; k < row.size(1); ++k) tokens[static_cast<size_t>(k)] = static_cast<int32_t>(acc[0][k]);
      result.images.push_back({files[static_cast<size_t>(index)], prompt_of[index], image_seed, std::move(tokens)});
      if (o.grid) {
        io::RgbImage pic{size, size, std::vector<uint8_t>(pixels.data_ptr<uint8_t>(), pixels.data_ptr<uint8_t>() + pixels.numel())};
        pictures.push_back(std::move(pic));
      }
    }
  }
  bar.finish();
  result.seconds = clock.seconds();
  result.tokens_per_second = rate(double(total * steps), decode_seconds);
#ifdef JANUSKIT_HAVE_OPENCV
  if (o.grid) {
    std::filesystem::path grid = grid_file(o.output, files.front());
    io::RgbImage sheet = io::make_contact_sheet(pictures, {});
    io::write_png(grid, sheet.pixels.data(), sheet.width, sheet.height);
    result.grid = grid;
  }
#endif
  return result;
}

nlohmann::json to_json(const GenerateResult& r) {
  nlohmann::json images = nlohmann::json::array();
  for (const auto& im : r.images) {
    images.push_back({{"file", im.file.string()}, {"prompt", im.prompt}, {"seed", im.seed}, {"tokens", im.tokens}});
  }
  nlohmann::json j = {{"model", r.model}, {"images", images}, {"seconds", r.seconds},
                      {"tokens_per_second", r.tokens_per_second}};
  if (r.grid) j["grid"] = r.grid->string();
  return j;
}

}  // namespace januskit::pipelines
