// Janus-Pro against transformers on a tiny random JanusForConditionalGeneration
// (tests/reference/make_janus_models.py): preprocessing, understanding, generation, the VQ model,
// and the original deepseek-ai naming.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include "core/json_util.hpp"
#include "engine/image_generator.hpp"
#include "engine/text_generator.hpp"
#include "io/checkpoint.hpp"
#include "io/image.hpp"
#include "io/model_dir.hpp"
#include "models/janus.hpp"
#include "pipelines/image_renderer.hpp"
#include "pipelines/janus_model.hpp"
#include "text/chat.hpp"
#include "text/tokenizer.hpp"
#include "test_util.hpp"

using namespace januskit;

namespace {

std::filesystem::path root() { return test::fixture_dir("janus_models"); }

struct Fixture {
  nlohmann::json json = io::read_json_file(root() / "expected.json");
  io::Checkpoint tensors = io::Checkpoint::open_files({root() / "expected.safetensors"});
};

std::unique_ptr<models::JanusModel> load(const std::string& folder, models::JanusParts parts = {true, true, false}) {
  return models::JanusModel::load(io::ModelDir::open(root() / folder), c10::Device(c10::kCPU), at::kFloat, parts);
}

std::vector<int32_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

at::Tensor understanding_logits(models::JanusModel& m, const Fixture& f) {
  std::vector<int32_t> ids = ids_of(f.json["understanding_prompt_ids"]);
  const int64_t n = static_cast<int64_t>(ids.size());
  at::Tensor id_tensor = at::tensor(std::vector<int64_t>(ids.begin(), ids.end())).view({1, n});
  at::Tensor images = m.encode_images(f.tensors.view("understanding_pixels"));
  const auto placeholder = text::Tokenizer::load(root() / "janus").require_token_id("<image_placeholder>");
  engine::KVCache cache = m.make_cache(1, n);
  engine::ForwardBatch b = cache.plan(n);
  return m.lm_logits(m.forward(m.embed_with_images(id_tensor, images, placeholder), b, cache));
}

std::vector<std::vector<int32_t>> generate_images(models::JanusModel& m, const Fixture& f,
                                                  const std::vector<size_t>& which) {
  text::Tokenizer tok = pipelines::load_janus_tokenizer(root() / "janus");
  std::vector<engine::ImageRequest> requests;
  for (size_t i : which) {
    engine::ImageRequest r;
    r.cond_ids = tok.encode(text::render_janus_t2i(f.json["generation_prompts"][i].get<std::string>()),
                            text::SpecialTokens::processor);
    r.uncond_ids = r.cond_ids;
    for (size_t k = 1; k + 1 < r.uncond_ids.size(); ++k) r.uncond_ids[k] = tok.require_token_id("<｜▁pad▁｜>");
    requests.push_back(r);
  }
  engine::ImageGenerationOptions o;
  o.cfg_weight = f.json["cfg"].get<double>();
  o.temperature = 0;
  at::Tensor t = engine::ImageGenerator(m).generate(requests, o).tokens;
  std::vector<std::vector<int32_t>> out;
  for (int64_t r = 0; r < t.size(0); ++r) {
    std::vector<int32_t> row;
    for (int64_t k = 0; k < t.size(1); ++k) row.push_back(static_cast<int32_t>(t[r][k].item<int64_t>()));
    out.push_back(row);
  }
  return out;
}

// Janus-4o's text-and-image-to-image through the pipeline `generate --image` runs: the fixture's
// picture edited by the instructions `which`, greedy, all in one batch. Returns each image's tokens
// and prompt ids.
std::pair<std::vector<std::vector<int32_t>>, std::vector<std::vector<int32_t>>> edit_images(
    const Fixture& f, const std::vector<size_t>& which) {
  pipelines::ImageRenderer renderer({.model = (root() / "janus").string(), .device = "cpu", .dtype = "f32"},
                                    {.editing = true});
  const std::string name = f.json["edit_image"].get<std::string>();
  auto source = std::make_shared<const pipelines::SourcePicture>(pipelines::SourcePicture{
      io::load_rgb(root() / "images" / name), {name, f.json["edit_cfg2"].get<double>()}});
  std::vector<pipelines::ImageJob> jobs;
  std::vector<size_t> batch;
  for (size_t i : which) {
    pipelines::ImageSettings settings{f.json["cfg"].get<double>(), 0.0, 0};
    jobs.push_back({f.json["edit_instructions"][i].get<std::string>(), 0, settings, {}, {}, source});
    batch.push_back(batch.size());
  }
  std::vector<std::vector<int32_t>> tokens(jobs.size()), prompts(jobs.size());
  pipelines::RenderCallbacks callbacks;
  callbacks.on_image = [&](const pipelines::RenderedImage& im) {
    tokens[im.job] = im.tokens;
    prompts[im.job] = im.prompt_ids;
  };
  renderer.render(jobs, {batch}, callbacks);
  return {tokens, prompts};
}

}  // namespace

TEST(JanusPreprocessing, MatchesPilExactlyAndBeatsOpenCvCubic) {
  Fixture f;
  for (const char* name : {"gradient.png", "text.png", "photo.png", "tall.png", "tiny.png", "alpha.png", "gray.png",
                           "photo.jpg"}) {
    io::RgbImage ours = io::letterbox_square(io::load_rgb(root() / "images" / name), 384);
    at::Tensor ref = f.tensors.view(std::string("pre/") + name);
    ASSERT_EQ(ours.height, ref.size(0)) << name;
    ASSERT_EQ(ours.width, ref.size(1)) << name;
    at::Tensor got = at::from_blob(ours.pixels.data(), {ours.height, ours.width, 3}, at::kByte).to(at::kInt);
    const int64_t max_diff = (got - ref.to(at::kInt)).abs().max().item<int64_t>();
    // PNG decoding is lossless, so PIL's resampling must be reproduced exactly; JPEG goes through
    // two different libjpeg builds (Pillow's and Debian's), which may round the IDCT differently.
    EXPECT_LE(max_diff, std::string(name).ends_with(".jpg") ? 2 : 0) << name;
  }
  // For the record (docs/robustness.md): what OpenCV's INTER_CUBIC would have given on the photo.
  io::RgbImage photo = io::load_rgb(root() / "images" / "photo.png");
  cv::Mat src(static_cast<int>(photo.height), static_cast<int>(photo.width), CV_8UC3, photo.pixels.data()), dst;
  cv::resize(src, dst, cv::Size(384, 288), 0, 0, cv::INTER_CUBIC);
  io::RgbImage pil = io::resize_bicubic_pil(photo, 384, 288);
  at::Tensor a = at::from_blob(dst.data, {288, 384, 3}, at::kByte).to(at::kInt);
  at::Tensor b = at::from_blob(pil.pixels.data(), {288, 384, 3}, at::kByte).to(at::kInt);
  const double mean = (a - b).abs().to(at::kDouble).mean().item<double>();
  const int64_t worst = (a - b).abs().max().item<int64_t>();
  std::cout << "OpenCV INTER_CUBIC vs PIL bicubic on a 640x480 -> 384x288 shrink: mean |diff| " << mean
            << " grey levels, max " << worst << "\n";
  EXPECT_GT(worst, 0);  // the reason januskit resamples like PIL
}

TEST(JanusUnderstanding, PromptIdsMatchTheReference) {
  Fixture f;
  text::Tokenizer tok = pipelines::load_janus_tokenizer(root() / "janus");
  std::vector<text::Message> conv = {{"user", "<image_placeholder>\n" + f.json["question"].get<std::string>()},
                                     {"assistant", ""}};
  std::vector<int32_t> ids = text::expand_image_placeholders(
      tok.encode(text::render_janus_chat(conv), text::SpecialTokens::processor), tok, 16);
  EXPECT_EQ(ids, ids_of(f.json["understanding_prompt_ids"]));
}

TEST(JanusGeneration, PromptIdsMatchTheOfficialProcessor) {
  Fixture f;
  // DeepSeek's files add no BOS in tokenizer.json; the official processor (LlamaTokenizerFast) does.
  text::Tokenizer tok = pipelines::load_janus_tokenizer(root() / "janus");
  for (size_t i = 0; i < f.json["generation_prompts"].size(); ++i) {
    const std::string prompt = text::render_janus_t2i(f.json["generation_prompts"][i].get<std::string>());
    EXPECT_EQ(tok.encode(prompt, text::SpecialTokens::processor), ids_of(f.json["generation_prompt_ids"][i]));
    EXPECT_NE(tok.encode(prompt, text::SpecialTokens::tokenizer_json), ids_of(f.json["generation_prompt_ids"][i]));
  }
}

TEST(JanusUnderstanding, OwnPreprocessingGivesTheReferencePixels) {
  Fixture f;
  at::Tensor ours = io::to_normalized_tensor(io::letterbox_square(io::load_rgb(root() / "images" / "gradient.png"), 64));
  EXPECT_LT(test::rel_error(ours.unsqueeze(0), f.tensors.view("understanding_pixels")), 1e-6);
}

TEST(JanusUnderstanding, LogitsF32) {
  Fixture f;
  auto m = load("janus");
  at::Tensor ours = understanding_logits(*m, f), ref = f.tensors.view("understanding_logits");
  ASSERT_EQ(ours.sizes(), ref.sizes());
  EXPECT_LT(test::rel_error(ours, ref), 1e-4) << "max abs diff " << test::max_abs_diff(ours, ref);
}

TEST(JanusUnderstanding, GreedyAnswerTokensIdentical) {
  Fixture f;
  auto m = load("janus");
  at::Tensor images = m->encode_images(f.tensors.view("understanding_pixels"));
  const auto placeholder = text::Tokenizer::load(root() / "janus").require_token_id("<image_placeholder>");
  engine::GenerationOptions o;
  o.max_new_tokens = 20;
  o.sampling.temperature = 0;
  auto out = engine::TextGenerator(*m).generate({ids_of(f.json["understanding_prompt_ids"])}, o, {}, nullptr,
                                                [&](const at::Tensor& ids) { return m->embed_with_images(ids, images, placeholder); });
  EXPECT_EQ(out.rows[0].tokens, ids_of(f.json["understanding_greedy"]));
}

TEST(JanusGeneration, GreedyCfgTokensIdenticalAloneAndBatched) {
  Fixture f;
  auto m = load("janus");
  auto alone0 = generate_images(*m, f, {0});
  auto alone1 = generate_images(*m, f, {1});
  EXPECT_EQ(alone0[0], ids_of(f.json["generation_tokens"][0]));
  EXPECT_EQ(alone1[0], ids_of(f.json["generation_tokens"][1]));
  // Two prompts of different lengths in one batch: left-aligned rows with per-row starts.
  auto both = generate_images(*m, f, {0, 1});
  EXPECT_EQ(both[0], ids_of(f.json["generation_tokens"][0]));
  EXPECT_EQ(both[1], ids_of(f.json["generation_tokens"][1]));
}

TEST(JanusEditing, PromptIdsMatchTheOfficialProcessor) {
  Fixture f;
  auto [tokens, prompts] = edit_images(f, {0, 1});
  EXPECT_EQ(prompts[0], ids_of(f.json["edit_prompt_ids"][0]));
  EXPECT_EQ(prompts[1], ids_of(f.json["edit_prompt_ids"][1]));
}

TEST(JanusEditing, GreedyTokensOfJanus4oProcedureAloneAndBatched) {
  Fixture f;
  EXPECT_EQ(edit_images(f, {0}).first[0], ids_of(f.json["edit_tokens"][0]));
  // Two instructions of different lengths in one batch: three left-aligned rows per image.
  auto both = edit_images(f, {0, 1}).first;
  EXPECT_EQ(both[0], ids_of(f.json["edit_tokens"][0]));
  EXPECT_EQ(both[1], ids_of(f.json["edit_tokens"][1]));
}

TEST(JanusGeneration, DecodedImagesWithinOneGreyLevel) {
  Fixture f;
  auto m = load("janus");
  std::vector<int64_t> flat;
  for (const auto& row : f.json["generation_tokens"])
    for (int v : row) flat.push_back(v);
  at::Tensor ids = at::tensor(flat).view({2, -1});
  at::Tensor ours = models::to_uint8_images(m->decode_images(ids)).to(at::kInt);
  at::Tensor ref = f.tensors.view("generation_pixels").to(at::kInt);
  ASSERT_EQ(ours.sizes(), ref.sizes());
  EXPECT_LE((ours - ref).abs().max().item<int64_t>(), 1);
}

TEST(JanusVq, DecoderOnRandomCodes) {
  Fixture f;
  auto m = load("janus");
  at::Tensor ours = m->vq().decode_tokens(f.tensors.view("vq_codes"));
  EXPECT_LT(test::rel_error(ours, f.tensors.view("vq_decoded")), 1e-4);
}

TEST(JanusVq, EncoderAndNormalisedQuantizer) {
  Fixture f;
  auto m = load("janus", {false, true, true});
  at::Tensor z = m->vq().encode(f.tensors.view("vq_input"));
  EXPECT_LT(test::rel_error(z, f.tensors.view("vq_latent")), 1e-4);
  EXPECT_TRUE(at::equal(m->vq().quantize(z), f.tensors.view("vq_ids")));
  // The k nearest codes: the reference's choice first, then distinct codes, no nearer than it.
  at::Tensor near = m->vq().nearest_codes(z, 3);
  ASSERT_EQ(near.sizes(), (std::vector<int64_t>{z.size(0), z.size(2) * z.size(3), 3}));
  EXPECT_TRUE(at::equal(near.select(2, 0), f.tensors.view("vq_ids")));
  EXPECT_FALSE(at::eq(near.select(2, 0), near.select(2, 1)).any().item<bool>());
  at::Tensor book = m->vq().codebook_lookup(near);  // normalised rows [B, N, 3, dim]
  at::Tensor flat = z.permute({0, 2, 3, 1}).reshape({z.size(0), -1, 1, z.size(1)}).to(at::kFloat);
  flat = flat / flat.norm(2, -1, true).clamp_min(1e-12);
  at::Tensor dist = (flat - book.to(at::kFloat)).pow(2).sum(-1);  // [B, N, 3]
  EXPECT_TRUE((dist.select(2, 1) >= dist.select(2, 0) - 1e-6).all().item<bool>());
  EXPECT_TRUE((dist.select(2, 2) >= dist.select(2, 1) - 1e-6).all().item<bool>());
}

TEST(JanusOriginalNaming, BinCheckpointGivesIdenticalOutputs) {
  Fixture f;
  auto hf = load("janus");
  auto original = load("janus_original");
  EXPECT_EQ(original->config().naming, models::JanusNaming::original);
  EXPECT_TRUE(at::equal(understanding_logits(*original, f), understanding_logits(*hf, f)));
  EXPECT_EQ(generate_images(*original, f, {0})[0], ids_of(f.json["generation_tokens"][0]));
}

TEST(JanusParts, GenerationOnlySkipsTheUnderstandingWeights) {
  auto m = load("janus", {false, true, false});
  EXPECT_THROW(m->encode_images(at::zeros({1, 3, 64, 64})), Error);
  EXPECT_THROW(m->lm_logits(at::zeros({1, 64})), Error);
}
