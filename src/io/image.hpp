// Images in: files decoded with OpenCV, and Janus-Pro's preprocessing.
//
// The reference (deepseek-ai Janus, VLMImageProcessor) opens images with PIL, converts to RGB (alpha
// dropped, not composited), resizes the long side to 384 with PIL's bicubic filter, pads to a square
// with (127, 127, 127), and normalises to [-1, 1]. OpenCV's INTER_CUBIC uses another kernel (a = -0.75)
// and does not widen the filter when shrinking, which visibly changes downscaled images, so the
// resampling here is PIL's own algorithm: separable, horizontal then vertical, kernel a = -0.5 with its
// support scaled by the shrink factor, 22-bit fixed-point weights, rounding to 8 bits between passes.
// It matches PIL exactly (tests/reference/make_janus_models.py checks it against Pillow).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace januskit::io {

// An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B.
struct RgbImage {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3

  uint8_t* row(int64_t y) { return pixels.data() + y * width * 3; }
  const uint8_t* row(int64_t y) const { return pixels.data() + y * width * 3; }
};

// Decodes PNG, JPEG, WebP, BMP (and whatever else OpenCV reads). Grayscale becomes RGB, alpha is dropped
// as PIL's convert("RGB") does, 16-bit samples keep their high byte. EXIF orientation is ignored, as
// PIL ignores it. Throws FileError for unreadable, empty or implausibly large images.
RgbImage load_rgb(const std::filesystem::path& path);
// The same from bytes in memory (`name` for messages).
RgbImage decode_rgb(const std::vector<uint8_t>& bytes, const std::string& name);

// PIL Image.resize(size, BICUBIC) on an 8-bit RGB image.
RgbImage resize_bicubic_pil(const RgbImage& image, int64_t width, int64_t height);

// Janus preprocessing: long side to `size` (sides truncated, at least min_size), centred on a square
// canvas of `background`. Returns the padded 8-bit image.
RgbImage letterbox_square(const RgbImage& image, int64_t size = 384, int64_t min_size = 14,
                          uint8_t background = 127);
// [3, H, W] float32 in [-1, 1]: (x / 255 - 0.5) / 0.5.
at::Tensor to_normalized_tensor(const RgbImage& image);

}  // namespace januskit::io
