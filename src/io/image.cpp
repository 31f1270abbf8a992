#include "io/image.hpp"

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <fstream>

#include "core/error.hpp"

namespace januskit::io {
namespace {

// Largest image decoded: 16384 x 16384. Bigger ones would take gigabytes before being shrunk to 384.
constexpr int64_t kMaxPixels = int64_t{16384} * 16384;

// Width/height from the file header, for the formats januskit names, before any decoding.
bool sniff_size(const std::vector<uint8_t>& b, int64_t& w, int64_t& h) {
  auto be32 = [&](size_t i) { return (int64_t{b[i]} << 24) | (int64_t{b[i + 1]} << 16) | (b[i + 2] << 8) | b[i + 3]; };
  auto le16 = [&](size_t i) { return int64_t{b[i]} | (int64_t{b[i + 1]} << 8); };
  auto le32 = [&](size_t i) { return le16(i) | (le16(i + 2) << 16); };
  if (b.size() >= 24 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
    w = be32(16), h = be32(20);
    return true;
  }
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') {
    w = std::abs(static_cast<int32_t>(le32(18))), h = std::abs(static_cast<int32_t>(le32(22)));
    return true;
  }
  if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8) {  // JPEG: walk the markers to a start-of-frame
    size_t i = 2;
    while (i + 9 < b.size()) {
      if (b[i] != 0xFF) return false;
      uint8_t marker = b[i + 1];
      int64_t len = (int64_t{b[i + 2]} << 8) | b[i + 3];
      bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        h = (int64_t{b[i + 5]} << 8) | b[i + 6];
        w = (int64_t{b[i + 7]} << 8) | b[i + 8];
        return true;
      }
      i += 2 + static_cast<size_t>(len);
    }
  }
  return false;
}

std::string describe_size(int64_t w, int64_t h) { return cat(w, "x", h); }

}  // namespace

RgbImage decode_rgb(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.empty()) throw FileError(name, "empty file, not an image");
  int64_t w = 0, h = 0;
  if (sniff_size(bytes, w, h) && (w <= 0 || h <= 0 || w * h > kMaxPixels)) {
    throw FileError(name, cat("image is ", describe_size(w, h), " pixels; januskit decodes images of up to 16384x16384 "
                              "(they are shrunk to 384 anyway): downscale it first"));
  }
  cv::Mat raw;
  try {
    cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data()));
    raw = cv::imdecode(buffer, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw FileError(name, cat("cannot decode the image (", e.err, ")"));
  }
  if (raw.empty() || raw.cols <= 0 || raw.rows <= 0) {
    throw FileError(name, "not a readable image (PNG, JPEG, WebP or BMP expected), or the file is truncated");
  }
  if (int64_t{raw.cols} * raw.rows > kMaxPixels) {
    throw FileError(name, cat("image is ", describe_size(raw.cols, raw.rows), " pixels; downscale it first"));
  }
  cv::Mat eight;
  if (raw.depth() == CV_16U) {
    raw.convertTo(eight, CV_8U, 1.0 / 256.0);  // keep the high byte
  } else if (raw.depth() == CV_8U) {
    eight = raw;
  } else {
    raw.convertTo(eight, CV_8U);
  }
  cv::Mat rgb;
  switch (eight.channels()) {
    case 1: cv::cvtColor(eight, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(eight, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(eight, rgb, cv::COLOR_BGRA2RGB); break;  // alpha dropped, like PIL's convert("RGB")
    default: throw FileError(name, cat("unsupported image with ", eight.channels(), " channels"));
  }
  RgbImage out;
  out.width = rgb.cols;
  out.height = rgb.rows;
  out.pixels.resize(static_cast<size_t>(out.width * out.height * 3));
  for (int64_t y = 0; y < out.height; ++y) {
    std::memcpy(out.row(y), rgb.ptr<uint8_t>(static_cast<int>(y)), static_cast<size_t>(out.width * 3));
  }
  return out;
}

RgbImage load_rgb(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw FileError(path.string(), std::filesystem::exists(path) ? "cannot be read (check permissions)" : "not found");
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode_rgb(bytes, path.string());
}

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
