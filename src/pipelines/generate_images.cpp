#include "pipelines/generate_images.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

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
#include "pipelines/image_renderer.hpp"
#include "pipelines/prompt_planner.hpp"

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

namespace {

nlohmann::json candidates_json(const std::vector<Candidate>& candidates) {
  nlohmann::json out = nlohmann::json::array();
  for (const Candidate& c : candidates) out.push_back({{"seed", c.seed}, {"score", c.score}});
  return out;
}

// The best of candidates [first, first + n) of one image by `readout` (the first on a tie), written to
// `file` with its "parameters" and a "best_of" chunk listing every candidate.
GeneratedImage choose_best(ImageRenderer& renderer, const std::vector<ImageJob>& jobs,
                           const std::vector<RenderedImage>& rendered, size_t first, size_t n, ScoreReadout readout,
                           const std::filesystem::path& file) {
  GeneratedImage out;
  std::vector<io::RgbImage> pictures;
  for (size_t k = 0; k < n; ++k) pictures.push_back(rendered[first + k].pixels);
  const BestOfChoice choice = renderer.choose_best(pictures, jobs[first].prompt, readout);
  for (size_t k = 0; k < n; ++k) out.candidates.push_back({jobs[first + k].seed, choice.scores[k]});
  out.chosen = choice.chosen;
  const ImageJob& job = jobs[first + out.chosen];
  const RenderedImage& best = rendered[first + out.chosen];
  const nlohmann::json note = {
      {"readout", score_readout_name(readout)}, {"chosen", out.chosen}, {"candidates", candidates_json(out.candidates)}};
  std::vector<std::pair<std::string, std::string>> text = {{"parameters", renderer.parameters(job)}, {"best_of", note.dump()}};
  text.insert(text.end(), job.text.begin(), job.text.end());
  io::write_png(file, best.pixels.pixels.data(), best.pixels.width, best.pixels.height, text);
  out.file = file;
  out.prompt = job.prompt;
  out.seed = job.seed;
  out.tokens = best.tokens;
  out.prompt_ids = best.prompt_ids;
  return out;
}

}  // namespace

#ifdef JANUSKIT_HAVE_OPENCV  // contact sheets need OpenCV
namespace {

// out.png -> out_grid.png; a folder -> FOLDER/januskit_grid.png; out_%03d.png -> out_grid.png.
std::filesystem::path grid_file(const std::string& spec, const std::filesystem::path& first_image) {
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

}  // namespace
#endif

GenerateResult generate_images(const GenerateOptions& o) {
  if (o.prompts.empty()) throw UsageError("generate: give at least one prompt");
  for (const auto& p : o.prompts) {
    if (p.find_first_not_of(" \t\r\n") == std::string::npos) throw UsageError("generate: a prompt is empty");
  }
  if (o.count < 1) throw UsageError("-n/--count must be at least 1");
  if (o.batch < 0) throw UsageError("--batch must be >= 0");
  if (o.best_of < 1) throw UsageError("--best-of must be at least 1");
  if (o.planner && !o.plan) throw UsageError("--planner needs --plan");
  if (o.plan_tokens < 1) throw UsageError("--plan-tokens must be at least 1");
  const bool editing = !o.image.empty();
  if (editing && (o.best_of > 1 || o.plan)) {
    throw UsageError("--image (editing) cannot be combined with --best-of or --plan: both read the prompt as a caption");
  }
  if (o.image_cfg < 0) throw UsageError("--image-cfg must be >= 0");
#ifndef JANUSKIT_HAVE_OPENCV
  if (o.grid) throw UsageError("--grid needs a januskit built with OpenCV (this one has JANUSKIT_OPENCV=OFF)");
#endif
  const int64_t total = static_cast<int64_t>(o.prompts.size()) * o.count;
  std::vector<std::filesystem::path> files = output_files(o.output, total);

  const ImageSettings chosen = o.settings.over(default_image_settings(o.model));
  const bool best_of = o.best_of > 1;
  // Decode the picture before loading the model: a bad file fails fast.
  std::shared_ptr<const SourcePicture> source;
  if (editing) {
    source = std::make_shared<const SourcePicture>(
        SourcePicture{io::load_rgb(o.image), {o.image.filename().string(), o.image_cfg}});
  }
  // An external planner runs (and is freed) before the Janus model is loaded.
  std::vector<std::string> plans;
  if (o.plan && o.planner) plans = plan_with_model(*o.planner, o.prompts, o.plan_tokens);
  ImageRenderer renderer(o.model, {.understanding = best_of || (o.plan && !o.planner), .editing = editing});
  if (o.plan && !o.planner) {
    for (const std::string& p : o.prompts) plans.push_back(renderer.plan(p, o.plan_tokens));
  }
  const std::string planner_name = !o.plan ? "" : o.planner ? o.planner->model : renderer.model_info().name;
  for (size_t p = 0; p < plans.size(); ++p) log::info("plan for \"", o.prompts[p], "\": ", plans[p]);
  const uint64_t seed = o.seed.value_or(random_seed());
  // Image-major, candidate-minor: the candidates of one image share a batch where they fit.
  std::vector<ImageJob> jobs;
  for (int64_t i = 0; i < total; ++i) {
    const size_t p = static_cast<size_t>(i / o.count);
    const std::string& prompt = o.plan ? plans[p] : o.prompts[p];
    std::vector<std::pair<std::string, std::string>> text;
    if (o.plan) {
      const nlohmann::json note = {{"prompt", o.prompts[p]}, {"plan", plans[p]}, {"planner", planner_name}};
      text.emplace_back("plan", note.dump());
    }
    for (int64_t k = 0; k < o.best_of; ++k) {
      const uint64_t s = seed + static_cast<uint64_t>(i) + static_cast<uint64_t>(k) * static_cast<uint64_t>(total);
      jobs.push_back({prompt, s, chosen, best_of ? std::filesystem::path() : files[static_cast<size_t>(i)], text, source});
    }
  }
  // The user's prompt and the plan of image i (the plan empty without --plan).
  auto user_prompt = [&](int64_t i) { return o.prompts[static_cast<size_t>(i / o.count)]; };
  auto plan_of = [&](int64_t i) { return o.plan ? plans[static_cast<size_t>(i / o.count)] : std::string(); };
  const std::vector<ImageSettings> settings(jobs.size(), chosen);
  const std::vector<std::vector<size_t>> batches = renderer.fit_to_memory(jobs, plan_batches(settings, o.batch));

  GenerateResult result;
  result.model = renderer.model_info().name;
  if (editing) {
    result.source = o.image;
    result.image_cfg = o.image_cfg;
  }
  for (const auto& b : batches) result.batch_sizes.push_back(static_cast<int64_t>(b.size()));
  const int64_t steps = renderer.model_info().steps;
  ProgressBar bar(steps * static_cast<int64_t>(batches.size()), "generate", "step");
  std::vector<io::RgbImage> pictures;
  RenderCallbacks callbacks;
  callbacks.on_step = [&](const RenderStatus& s) {
    const int64_t done = (s.batch - 1) * steps + s.step;
    bar.update(done);
    bar.set_postfix(format_rate(rate(double(done) * s.batch_images, bar.elapsed_seconds()), "tok"));
  };
  std::vector<RenderedImage> rendered(best_of ? jobs.size() : 0);
  callbacks.on_image = [&](const RenderedImage& im) {
    const ImageJob& job = jobs[im.job];
    if (best_of) {
      rendered[im.job] = im;
      return;
    }
    const int64_t i = static_cast<int64_t>(im.job);
    result.images.push_back({job.file, user_prompt(i), plan_of(i), job.seed, im.tokens, im.prompt_ids, {}, 0});
    if (o.grid) pictures.push_back(im.pixels);
  };
  RenderStats stats = renderer.render(jobs, batches, callbacks);
  bar.finish();
  if (best_of) {
    Stopwatch scoring;
    for (int64_t i = 0; i < total; ++i) {
      GeneratedImage out = choose_best(renderer, jobs, rendered, static_cast<size_t>(i * o.best_of),
                                       static_cast<size_t>(o.best_of), o.readout, files[static_cast<size_t>(i)]);
      out.prompt = user_prompt(i);
      out.plan = plan_of(i);
      if (o.grid) pictures.push_back(rendered[static_cast<size_t>(i * o.best_of) + out.chosen].pixels);
      result.images.push_back(std::move(out));
    }
    log::info("best of ", o.best_of, ": ", jobs.size(), " candidates scored (", score_readout_name(o.readout), ") in ",
              format_seconds(scoring.seconds()));
  }
  result.seconds = stats.seconds;
  result.tokens_per_second = stats.tokens_per_second;
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
    nlohmann::json j = {{"file", im.file.string()}, {"prompt", im.prompt}, {"seed", im.seed},
                        {"prompt_ids", im.prompt_ids}, {"tokens", im.tokens}};
    if (!im.plan.empty()) j["plan"] = im.plan;
    if (!im.candidates.empty()) {
      j["best_of"] = {{"chosen", im.chosen}, {"score", im.candidates[im.chosen].score},
                      {"candidates", candidates_json(im.candidates)}};
    }
    images.push_back(std::move(j));
  }
  nlohmann::json j = {{"model", r.model}, {"images", images}, {"seconds", r.seconds},
                      {"tokens_per_second", r.tokens_per_second}, {"batch_sizes", r.batch_sizes}};
  if (r.grid) j["grid"] = r.grid->string();
  if (!r.source.empty()) j["source"] = {{"file", r.source.string()}, {"image_cfg", r.image_cfg}};
  return j;
}

}  // namespace januskit::pipelines
