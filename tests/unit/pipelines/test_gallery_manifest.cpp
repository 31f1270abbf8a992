// Gallery building blocks without a model: manifest parsing and validation, folder names, shards,
// batch packing, the index files, and the names of files a gallery owns.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "pipelines/gallery_manifest.hpp"
#include "pipelines/gallery_site.hpp"
#include "pipelines/image_renderer.hpp"
#include "pipelines/render_gallery.hpp"

using namespace januskit;
using namespace januskit::pipelines;

namespace {

GalleryManifest parse(const std::string& text, const ManifestDefaults& cli = {}, const std::string& source = "m.json") {
  return parse_manifest(text, source, "m", cli);
}

// The message of the FileError/UsageError that parsing `text` throws ("" when it does not throw).
std::string parse_error(const std::string& text, const ManifestDefaults& cli = {}) {
  try {
    parse(text, cli);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<uint64_t> seeds(std::initializer_list<uint64_t> s) { return s; }

}  // namespace

TEST(GalleryManifest, EntriesOverDefaultsOverFlagsOverBuiltIns) {
  ManifestDefaults cli;
  cli.settings.cfg = 2.5;
  cli.settings.top_k = 9;
  cli.count = 5;
  GalleryManifest m = parse(R"({
    "title": "Shapes", "_comment": "ignored",
    "defaults": {"count": 2, "seed_start": 40, "temperature": 0.5},
    "entries": [
      "a red circle",
      {"prompt": "a blue square", "name": "Blue_1", "seeds": [9, 3, 18446744073709551615]},
      {"prompt": "a star", "seed_start": 7, "count": 3, "cfg": 1, "top_k": 0, "_note": "x"},
      {"prompt": "a star", "count": 1, "temperature": 0}
    ]})", cli);
  EXPECT_EQ(m.title, "Shapes");
  ASSERT_EQ(m.entries.size(), 4u);
  EXPECT_EQ(m.entries[0].name, "a-red-circle");
  EXPECT_EQ(m.entries[0].seeds, seeds({40, 41}));  // defaults' sweep and count
  EXPECT_EQ(m.entries[0].settings, (ImageSettings{2.5, 0.5, 9}));  // flags fill what the manifest leaves open
  EXPECT_EQ(m.entries[1].name, "Blue_1");
  EXPECT_EQ(m.entries[1].seeds, seeds({9, 3, 18446744073709551615ull}));
  EXPECT_EQ(m.entries[2].seeds, seeds({7, 8, 9}));
  EXPECT_EQ(m.entries[2].settings, (ImageSettings{1, 0.5, 0}));
  EXPECT_EQ(m.entries[3].name, "a-star-2");  // same prompt: a unique folder
  EXPECT_EQ(m.entries[3].seeds, seeds({40}));
  EXPECT_EQ(m.entries[3].settings.temperature, 0);
  EXPECT_EQ(m.entries[2].origin, "entries[2]");
  EXPECT_EQ(m.image_count(), 2 + 3 + 3 + 1);
}

TEST(GalleryManifest, BuiltInDefaultsAndDefaultSeedLists) {
  GalleryManifest m = parse(R"({"entries": ["x", {"prompt": "y", "count": 3}]})");
  EXPECT_EQ(m.title, "m");  // the file name without extension
  EXPECT_EQ(m.entries[0].seeds, seeds({0}));
  EXPECT_EQ(m.entries[0].settings, ImageSettings{});
  EXPECT_EQ(m.entries[1].seeds, seeds({0, 1, 2}));
  GalleryManifest listed = parse(R"({"defaults": {"seeds": [5, 6]}, "entries": ["x", {"prompt": "y", "count": 2}]})");
  EXPECT_EQ(listed.entries[0].seeds, seeds({5, 6}));
  EXPECT_EQ(listed.entries[1].seeds, seeds({5, 6}));
  EXPECT_NE(parse_error(R"({"defaults": {"seeds": [5, 6]}, "entries": [{"prompt": "y", "count": 3}]})")
                .find("entries[0] (prompt \"y\"): count: count 3 does not match the 2 seeds of defaults.seeds"),
            std::string::npos);
}

TEST(GalleryManifest, ExplicitNamesAreReservedBeforeSlugs) {
  // The first entry's slug would be "red"; a later entry asks for that name explicitly.
  GalleryManifest m = parse(R"({"entries": ["Red", {"prompt": "other", "name": "red"}, "RED!"]})");
  EXPECT_EQ(m.entries[0].name, "red-2");
  EXPECT_EQ(m.entries[1].name, "red");
  EXPECT_EQ(m.entries[2].name, "red-3");
}

TEST(GalleryManifest, TextFormSkipsCommentsAndBlankLines) {
  GalleryManifest m = parse_manifest("\xEF\xBB\xBF# header\r\n\r\n  a red circle \r\n\t# indented comment\nsecond # not a comment\n\n",
                                     "p.txt", "p", {});
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].prompt, "a red circle");
  EXPECT_EQ(m.entries[0].origin, "line 3");
  EXPECT_EQ(m.entries[1].prompt, "second # not a comment");
  EXPECT_EQ(m.title, "p");
  ManifestDefaults cli;
  cli.count = 2;
  cli.seed_start = 7;
  EXPECT_EQ(parse_manifest("x\n", "p.txt", "p", cli).entries[0].seeds, seeds({7, 8}));
  // A text file that starts with '{' is read as JSON whatever its name.
  EXPECT_EQ(parse_manifest(R"({"entries": ["x"]})", "list.txt", "list", {}).entries[0].prompt, "x");
  try {
    parse_manifest("# only\n\n", "p.txt", "p", {});
    FAIL() << "no error";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("p.txt: holds no prompts"), std::string::npos) << e.what();
  }
}

TEST(GalleryManifest, ErrorsNameTheFileTheEntryAndTheField) {
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": "x", "name": "n", "count": 0}]})"),
            "m.json: entries[0] (name \"n\"): count: must be at least 1, got 0");
  EXPECT_EQ(parse_error(R"({"entries": ["a", {"prompt": "a very long prompt that goes on and on", "seeds": "1"}]})"),
            "m.json: entries[1] (prompt \"a very long prompt that goes on ...\"): seeds: expected a list of seeds such as "
            "[1, 2, 3], got \"1\"");
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": "x", "seed_start": 18446744073709551615, "count": 2}]})"),
            "m.json: entries[0] (prompt \"x\"): seed_start: seed_start 18446744073709551615 + count 2 runs past the largest "
            "seed (2^64 - 1)");
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": "x", "seeds": []}]})"), "m.json: entries[0] (prompt \"x\"): seeds: the list is empty");
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": "x", "name": ""}]})").rfind("m.json: entries[0] (name \"\"): name: \"\" must be", 0), 0u);
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": "x", "name": "-x"}]})").find("starting with a letter or digit") != std::string::npos, true);
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": 3}]})"), "m.json: entries[0]: prompt: expected a string, got 3");
  EXPECT_EQ(parse_error(R"({"entries": [true]})"), "m.json: entries[0]: expected a prompt string or an object, got true");
  EXPECT_EQ(parse_error(R"({"entries": ["x"], "title": 3})"), "m.json: title: expected a string, got 3");
  EXPECT_EQ(parse_error(R"({"entries": ["x"], "defaults": []})"), "m.json: defaults: expected an object, got []");
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": "x", "cfg": -0.5}]})"), "m.json: entries[0] (prompt \"x\"): cfg: must be a number >= 0, got -0.5");
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": "x", "count": true}]})"),
            "m.json: entries[0] (prompt \"x\"): count: expected a whole number of images, got true");
  EXPECT_EQ(parse_error(R"({"entries": [{"prompt": "x", "count": 4.0}]})"), "");  // an integral float is fine
  EXPECT_EQ(parse_error("{\"entries\": [\"x\"]} trailing").rfind("m.json: not valid JSON: parse error at line 1, column", 0), 0u);
  ManifestDefaults bad;
  bad.count = 0;
  try {
    parse(R"({"entries": ["x"]})", bad);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("-n/--count"), std::string::npos);
  }
}

TEST(GalleryManifest, LoadNamesMissingFilesAndFolders) {
  try {
    load_manifest("/nonexistent/gallery.json");
    FAIL() << "no error";
  } catch (const FileError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/gallery.json: not found");
  }
  try {
    load_manifest(std::filesystem::temp_directory_path());
    FAIL() << "no error";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder"), std::string::npos);
  }
}

TEST(Slugify, LowerCaseAsciiWordsJoinedByDashes) {
  EXPECT_EQ(slugify("A Red Circle, on WHITE!!"), "a-red-circle-on-white");
  EXPECT_EQ(slugify("  --x--  "), "x");
  EXPECT_EQ(slugify("日本の猫"), "");
  EXPECT_EQ(slugify("café au lait"), "caf-au-lait");
  const std::string long_slug = slugify("a photograph of an astronaut riding a horse on the moon, oil painting");
  EXPECT_EQ(long_slug, "a-photograph-of-an-astronaut-riding-a");
  EXPECT_LE(slugify(std::string(100, 'x')).size(), 40u);
  GalleryManifest m = parse(R"({"entries": ["日本の猫", "日本の犬"]})");
  EXPECT_EQ(m.entries[0].name, "entry-1");
  EXPECT_EQ(m.entries[1].name, "entry-2");
}

TEST(Shard, ParsesIOfN) {
  Shard s = parse_shard("2/4");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 4);
  for (const char* bad : {"0/4", "5/4", "1/0", "-1/2", "1/-2", "a/b", "1", "1/", "/2", "1/2/3", " 1/2", "", "1.0/2"}) {
    try {
      parse_shard(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--shard: '", 0), 0u) << e.what();
    }
  }
}

TEST(PlanBatches, GroupsEqualSettingsInOrderOfFirstAppearance) {
  const ImageSettings a{5, 1, 0}, b{3, 0.7, 0}, c{5, 1, 5};
  const std::vector<ImageSettings> s = {a, a, b, a, c, b, a};
  using Batches = std::vector<std::vector<size_t>>;
  EXPECT_EQ(plan_batches(s, 2), (Batches{{0, 1}, {3, 6}, {2, 5}, {4}}));
  EXPECT_EQ(plan_batches(s, 0), (Batches{{0, 1, 3, 6}, {2, 5}, {4}}));
  EXPECT_EQ(plan_batches(s, 100), plan_batches(s, 0));
  EXPECT_TRUE(plan_batches({}, 3).empty());
  EXPECT_THROW(plan_batches(s, -1), UsageError);
}

TEST(ModelImageSettings, ReadsTransformersKeysAndKeepsReferenceDefaultsForTheRest) {
  const std::string src = "m/generation_config.json";
  EXPECT_EQ(model_image_settings(nlohmann::json::object(), src), ImageSettings{});  // 5, 1, 0
  EXPECT_EQ(model_image_settings({{"eos_token_id", 2}, {"temperature", nullptr}}, src), ImageSettings{});
  EXPECT_EQ(model_image_settings({{"do_sample", true}, {"guidance_scale", 2}, {"temperature", 0.5}, {"top_k", 7}}, src),
            (ImageSettings{2, 0.5, 7}));
  // do_sample false is argmax whatever the temperature says, as in transformers.
  EXPECT_EQ(model_image_settings({{"do_sample", false}, {"temperature", 0.7}}, src), (ImageSettings{5, 0, 0}));
  auto error = [&](const nlohmann::json& j) {
    try {
      model_image_settings(j, src);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error({{"guidance_scale", -1}}), "m/generation_config.json: \"guidance_scale\" must be a number >= 0; fix or remove it");
  EXPECT_NE(error({{"temperature", "hot"}}).find("\"temperature\" must be a number >= 0"), std::string::npos);
  EXPECT_NE(error({{"top_k", 2.5}}).find("\"top_k\" must be a whole number >= 0"), std::string::npos);
  EXPECT_NE(error({{"do_sample", 1}}).find("\"do_sample\" must be true or false"), std::string::npos);
  EXPECT_NE(error(nlohmann::json::array()).find("expected a JSON object"), std::string::npos);
}

TEST(ModelImageSettings, FlagsOverTheModelAndTheModelUnderTheManifest) {
  const ImageSettings model{2, 0.5, 3};
  EXPECT_EQ(ImageSettingsOverride{}.over(model), model);
  EXPECT_EQ((ImageSettingsOverride{1.5, std::nullopt, 0}.over(model)), (ImageSettings{1.5, 0.5, 0}));
  ManifestDefaults cli;
  cli.model = model;
  cli.settings.cfg = 4;
  GalleryManifest m = parse(R"({"entries": ["x", {"prompt": "y", "temperature": 1}]})", cli);
  EXPECT_EQ(m.entries[0].settings, (ImageSettings{4, 0.5, 3}));
  EXPECT_EQ(m.entries[1].settings, (ImageSettings{4, 1, 3}));
}

TEST(ModelImageSettings, DefaultImageSettingsReadTheFolder) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("jk_image_defaults_" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({"model_type": "janus"})";
  EXPECT_EQ(default_image_settings({dir.string()}), ImageSettings{});  // no generation_config.json
  std::ofstream(dir / "generation_config.json") << R"({"guidance_scale": 1.5, "temperature": 0.25})";
  EXPECT_EQ(default_image_settings({dir.string()}), (ImageSettings{1.5, 0.25, 0}));
  std::ofstream(dir / "generation_config.json") << R"({"guidance_scale": "x"})";
  EXPECT_THROW(default_image_settings({dir.string()}), Error);
  fs::remove_all(dir);
}

TEST(ImageParameters, A1111LayoutAndVersionFreeComparison) {
  const std::string p = image_parameters("a cat, Version: 2", 7, {5, 1, 0}, {"janus-pro-1b", 576, 384});
  EXPECT_EQ(p.rfind("a cat, Version: 2\nSteps: 576, CFG scale: 5, Temperature: 1, Top-k: 0, Seed: 7, Size: 384x384, "
                    "Model: janus-pro-1b, Version: januskit ", 0),
            0u)
      << p;
  // Only the trailing field is the version: the prompt's own ", Version: " stays.
  EXPECT_EQ(parameters_without_version(p), "a cat, Version: 2\nSteps: 576, CFG scale: 5, Temperature: 1, Top-k: 0, Seed: 7, "
                                           "Size: 384x384, Model: janus-pro-1b");
  EXPECT_EQ(parameters_without_version(p), parameters_without_version(
                                               std::string(parameters_without_version(p)) + ", Version: januskit 0.0.1-old"));
}

namespace {
GalleryPlan small_plan() {
  GalleryManifest m = parse(R"({"title": "T <&> \"q\"", "entries": [
      {"prompt": "a <script>alert('x')</script> & \"quotes\"", "name": "odd", "seeds": [1, 2]}, "plain"]})");
  return plan_gallery(std::move(m), {"model<1>", 16, 16});
}
}  // namespace

TEST(GallerySite, PlanNamesFilesAndParameters) {
  GalleryPlan plan = small_plan();
  ASSERT_EQ(plan.images.size(), 3u);
  EXPECT_EQ(plan.images[0].file, "odd/1.png");
  EXPECT_EQ(plan.images[1].file, "odd/2.png");
  EXPECT_EQ(plan.images[2].file, "plain/0.png");
  EXPECT_EQ(plan.images[2].parameters, image_parameters("plain", 0, {}, plan.model));
}

TEST(GallerySite, JsonListsPresentImagesOnlyAndIsDeterministic) {
  GalleryPlan plan = small_plan();
  const std::vector<bool> present = {true, false, true};
  const std::string text = gallery_json(plan, present, /*sheets=*/false);
  EXPECT_EQ(text, gallery_json(plan, present, false));
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["images_total"], 3);
  EXPECT_EQ(j["images_present"], 2);
  EXPECT_FALSE(j["complete"].get<bool>());
  EXPECT_FALSE(j.contains("contact_sheet"));
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][1]["file"], "plain/0.png");
  EXPECT_EQ(j["entries"][0]["images_present"], 1);
  auto with_sheets = nlohmann::json::parse(gallery_json(plan, {true, true, true}, true));
  EXPECT_TRUE(with_sheets["complete"].get<bool>());
  EXPECT_EQ(with_sheets["contact_sheet"], "contact_sheet.png");
  EXPECT_EQ(with_sheets["entries"][1]["contact_sheet"], "plain/contact_sheet.png");
}

TEST(GallerySite, HtmlEscapesUserTextAndMarksMissingImages) {
  GalleryPlan plan = small_plan();
  const std::string html = gallery_html(plan, {true, false, true}, false);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("a &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"), std::string::npos);
  EXPECT_NE(html.find("<title>T &lt;&amp;&gt; &quot;q&quot;</title>"), std::string::npos);
  EXPECT_NE(html.find("model model&lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("<img src=\"odd/1.png\""), std::string::npos);
  EXPECT_EQ(html.find("src=\"odd/2.png\""), std::string::npos);
  EXPECT_NE(html.find("not rendered yet"), std::string::npos);
  EXPECT_NE(html.find("data-images-total=\"2\""), std::string::npos);
  EXPECT_EQ(html.find("contact_sheet.png"), std::string::npos);  // no sheets written for this state
  EXPECT_EQ(html.find("http"), std::string::npos);                // nothing from the network
}

TEST(GallerySite, OutputNames) {
  EXPECT_TRUE(is_gallery_output_name("gallery.json", false));
  EXPECT_TRUE(is_gallery_output_name("index.html", false));
  EXPECT_TRUE(is_gallery_output_name("contact_sheet.png", false));
  EXPECT_TRUE(is_gallery_output_name("contact_sheet.png", true));
  EXPECT_TRUE(is_gallery_output_name("18446744073709551615.png", true));
  EXPECT_FALSE(is_gallery_output_name("12.png", false));
  EXPECT_FALSE(is_gallery_output_name("gallery.json", true));
  EXPECT_FALSE(is_gallery_output_name(".png", true));
  EXPECT_FALSE(is_gallery_output_name("1a.png", true));
  EXPECT_FALSE(is_gallery_output_name("notes.txt", true));
}

TEST(GallerySite, IndexFilesAreWrittenAtomicallyAndRemoveAllCleansUp) {
  // Plain std::filesystem in tests and library alike (libstdc++ is linked before LibTorch, whose
  // wheel exports its own std::filesystem symbols): remove_all must work.
  std::random_device rd;
  const auto dir = std::filesystem::temp_directory_path() / ("januskit-gallery-test-" + std::to_string(rd()));
  std::filesystem::create_directories(dir / "odd" / "deeper");
  std::ofstream(dir / "odd" / "deeper" / "file") << "x";
  GalleryPlan plan = small_plan();
  write_gallery_index(dir, plan, {false, false, false}, false);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"gallery.json", "index.html", "odd"}));
  EXPECT_EQ(std::filesystem::remove_all(dir), 6u);  // the folder, odd, deeper, file and the two index files
  EXPECT_FALSE(std::filesystem::exists(dir));
}
