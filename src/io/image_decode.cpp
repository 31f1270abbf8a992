// Image files in, through OpenCV (left out of builds with JANUSKIT_OPENCV=OFF; image.cpp holds the
// OpenCV-free rest of io/image.hpp).
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

}  // namespace januskit::io
