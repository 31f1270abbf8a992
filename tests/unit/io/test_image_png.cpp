#include <gtest/gtest.h>

#include <fstream>

#include "core/error.hpp"
#include "io/image.hpp"
#include "io/png.hpp"
#include "test_util.hpp"

using namespace januskit;

namespace {
void write_bytes(const std::filesystem::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }
io::RgbImage pattern(int64_t w, int64_t h) {
  io::RgbImage im{w, h, std::vector<uint8_t>(static_cast<size_t>(w * h * 3))};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>((i * 37) % 251);
  return im;
}
}  // namespace

TEST(Png, RoundTripPixelsAndUtf8Parameters) {
  test::TempDir tmp;
  const auto& dir = tmp.path();
  io::RgbImage im = pattern(20, 12);
  const std::string ascii = "a red circle\nSteps: 576, CFG scale: 5, Seed: 42";
  const std::string unicode = "ein rotes Quadrat \xC3\xBC\xE2\x9C\x93";
  io::write_png(dir / "sub" / "a.png", im.pixels.data(), im.width, im.height, {{"parameters", ascii}, {"comment", unicode}});
  auto text = io::read_png_text(dir / "sub" / "a.png");
  EXPECT_EQ(text.at("parameters"), ascii);
  EXPECT_EQ(text.at("comment"), unicode);
  io::RgbImage back = io::load_rgb(dir / "sub" / "a.png");
  EXPECT_EQ(back.width, 20);
  EXPECT_EQ(back.pixels, im.pixels);
}

TEST(Png, CorruptFilesAreNamed) {
  test::TempDir tmp;
  const auto& dir = tmp.path();
  io::RgbImage im = pattern(8, 8);
  std::string png = io::encode_png(im.pixels.data(), 8, 8, {{"parameters", "x"}});
  write_bytes(dir / "truncated.png", png.substr(0, png.size() / 2));
  std::string flipped = png;
  flipped[40] ^= 0x55;  // inside the tEXt chunk: its CRC no longer matches
  write_bytes(dir / "crc.png", flipped);
  write_bytes(dir / "text.png", "hello");
  for (const char* name : {"truncated.png", "crc.png", "text.png"}) {
    try {
      io::read_png_text(dir / name);
      FAIL() << name;
    } catch (const FileError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(ImageLoad, BadImagesGiveClearErrors) {
  test::TempDir tmp;
  const auto& dir = tmp.path();
  io::RgbImage im = pattern(16, 16);
  std::string png = io::encode_png(im.pixels.data(), 16, 16);
  write_bytes(dir / "empty.png", "");
  write_bytes(dir / "notimage.jpg", "this is not an image at all");
  write_bytes(dir / "truncated.png", png.substr(0, 40));
  // A PNG header claiming 20000x20000 pixels: refused before any decoding.
  std::string huge = png;
  for (int i : {16, 20}) {
    huge[i] = 0;
    huge[i + 1] = 0;
    huge[i + 2] = static_cast<char>(20000 >> 8);
    huge[i + 3] = static_cast<char>(20000 & 0xFF);
  }
  write_bytes(dir / "huge.png", huge);
  for (const char* name : {"empty.png", "notimage.jpg", "truncated.png", "huge.png", "missing.png"}) {
    try {
      io::load_rgb(dir / name);
      FAIL() << name;
    } catch (const FileError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(ImageResize, IdentityAndUpscaleKeepRange) {
  io::RgbImage im = pattern(10, 7);
  EXPECT_EQ(io::resize_bicubic_pil(im, 10, 7).pixels, im.pixels);
  io::RgbImage big = io::letterbox_square(im, 384);
  EXPECT_EQ(big.width, 384);
  EXPECT_EQ(big.height, 384);
  // 10x7 -> 384x268, centred: rows 0..57 are padding.
  EXPECT_EQ(big.row(0)[0], 127);
  EXPECT_EQ(big.row(383)[383 * 3], 127);
  at::Tensor t = io::to_normalized_tensor(big);
  EXPECT_EQ(t.sizes(), (at::IntArrayRef{3, 384, 384}));
  EXPECT_LE(t.max().item<float>(), 1.0f);
  EXPECT_GE(t.min().item<float>(), -1.0f);
}
