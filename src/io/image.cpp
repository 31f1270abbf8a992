#include "io/image.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.hpp"

namespace januskit::io {

namespace {

// PIL's fixed-point resampling -----------------------------------------------------------------------

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// For each output position: the first input index, the number of taps, and the fixed-point weights.
struct Taps {
  int64_t ksize = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> weights;  // out_size * ksize
};

Taps taps_for(int64_t in_size, int64_t out_size) {
  constexpr double support_1x = 2.0;  // bicubic support
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);  // widen the kernel when shrinking (antialiasing)
  const double support = support_1x * filter_scale;
  Taps t;
  t.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  t.first.resize(static_cast<size_t>(out_size));
  t.count.resize(static_cast<size_t>(out_size));
  t.weights.assign(static_cast<size_t>(out_size * t.ksize), 0);
  std::vector<double> k(static_cast<size_t>(t.ksize));
  const double inv_filter_scale = 1.0 / filter_scale;  // PIL multiplies by the reciprocal
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double total = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      k[x] = bicubic((static_cast<double>(x + xmin) - center + 0.5) * inv_filter_scale);
      total += k[x];
    }
    for (int64_t x = 0; x < xmax; ++x) {
      double w = total != 0.0 ? k[x] / total : k[x];
      // Round half away from zero into 22-bit fixed point.
      t.weights[xx * t.ksize + x] =
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    t.first[xx] = xmin;
    t.count[xx] = xmax;
  }
  return t;
}

inline uint8_t clip8(int64_t v) {
  if (v >= (int64_t{1} << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

RgbImage resample_horizontal(const RgbImage& in, int64_t width) {
  Taps t = taps_for(in.width, width);
  RgbImage out{width, in.height, std::vector<uint8_t>(static_cast<size_t>(width * in.height * 3))};
  for (int64_t y = 0; y < in.height; ++y) {
    const uint8_t* src = in.row(y);
    uint8_t* dst = out.row(y);
    for (int64_t xx = 0; xx < width; ++xx) {
      const int32_t* k = &t.weights[xx * t.ksize];
      int64_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
      for (int64_t x = 0; x < t.count[xx]; ++x) {
        const uint8_t* p = src + (x + t.first[xx]) * 3;
        s0 += p[0] * int64_t{k[x]};
        s1 += p[1] * int64_t{k[x]};
        s2 += p[2] * int64_t{k[x]};
      }
      dst[xx * 3 + 0] = clip8(s0);
      dst[xx * 3 + 1] = clip8(s1);
      dst[xx * 3 + 2] = clip8(s2);
    }
  }
  return out;
}

RgbImage resample_vertical(const RgbImage& in, int64_t height) {
  Taps t = taps_for(in.height, height);
  RgbImage out{in.width, height, std::vector<uint8_t>(static_cast<size_t>(in.width * height * 3))};
  for (int64_t yy = 0; yy < height; ++yy) {
    const int32_t* k = &t.weights[yy * t.ksize];
    uint8_t* dst = out.row(yy);
    for (int64_t xc = 0; xc < in.width * 3; ++xc) {
      int64_t s = 1 << (kPrecisionBits - 1);
      for (int64_t y = 0; y < t.count[yy]; ++y) s += in.row(y + t.first[yy])[xc] * int64_t{k[y]};
      dst[xc] = clip8(s);
    }
  }
  return out;
}

}  // namespace

RgbImage resize_bicubic_pil(const RgbImage& image, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0) throw Error(cat("resize: invalid target size ", width, "x", height));
  RgbImage out = image;
  if (width != image.width) out = resample_horizontal(out, width);  // PIL: horizontal pass first
  if (height != image.height) out = resample_vertical(out, height);
  return out;
}

RgbImage letterbox_square(const RgbImage& image, int64_t size, int64_t min_size, uint8_t background) {
  const int64_t longest = std::max(image.width, image.height);
  // int(h / longest * size): Python float arithmetic, truncated.
  const int64_t h = std::max<int64_t>(static_cast<int64_t>(static_cast<double>(image.height) / longest * size), min_size);
  const int64_t w = std::max<int64_t>(static_cast<int64_t>(static_cast<double>(image.width) / longest * size), min_size);
  RgbImage resized = resize_bicubic_pil(image, w, h);
  if (w == h) return resized;
  const int64_t side = std::max(w, h);
  RgbImage canvas{side, side, std::vector<uint8_t>(static_cast<size_t>(side * side * 3), background)};
  const int64_t x0 = w > h ? 0 : (h - w) / 2, y0 = w > h ? (w - h) / 2 : 0;
  for (int64_t y = 0; y < h; ++y) std::memcpy(canvas.row(y + y0) + x0 * 3, resized.row(y), static_cast<size_t>(w * 3));
  return canvas;
}

at::Tensor to_normalized_tensor(const RgbImage& image) {
  at::Tensor hwc = at::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, at::kByte);
  return (hwc.permute({2, 0, 1}).to(at::kFloat) / 255.0 - 0.5) / 0.5;
}

}  // namespace januskit::io
