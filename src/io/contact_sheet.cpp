#include "io/contact_sheet.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "core/error.hpp"

namespace januskit::io {
namespace {

constexpr double kFontScale = 0.45;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kLineHeight = 16;
constexpr int kCaptionLines = 2;

// Splits a caption into at most kCaptionLines lines that fit `width` pixels, with "..." when cut.
std::vector<std::string> wrap(const std::string& text, int width) {
  std::vector<std::string> lines(1);
  auto fits = [&](const std::string& s) {
    int baseline = 0;
    return cv::getTextSize(s, kFont, kFontScale, 1, &baseline).width <= width;
  };
  std::string word;
  auto flush_word = [&]() -> bool {
    if (word.empty()) return true;
    std::string candidate = lines.back().empty() ? word : lines.back() + " " + word;
    if (fits(candidate)) {
      lines.back() = candidate;
    } else if (static_cast<int>(lines.size()) < kCaptionLines) {
      lines.push_back(word);
    } else {
      while (!lines.back().empty() && !fits(lines.back() + "...")) lines.back().pop_back();
      lines.back() += "...";
      return false;
    }
    word.clear();
    return true;
  };
  for (char c : text) {
    // Hershey fonts draw ASCII only: other bytes (UTF-8) become '?', once per character.
    if (static_cast<unsigned char>(c) >= 0x80) {
      if ((static_cast<unsigned char>(c) & 0xC0) == 0xC0) word += '?';
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!flush_word()) return lines;
    } else {
      word += c;
    }
  }
  flush_word();
  return lines;
}

}  // namespace

RgbImage make_contact_sheet(const std::vector<RgbImage>& images, const std::vector<std::string>& captions,
                            const SheetOptions& o) {
  if (images.empty()) throw Error("contact sheet: no images");
  const int64_t n = static_cast<int64_t>(images.size());
  const int64_t cols = o.columns > 0 ? std::min(o.columns, n) : static_cast<int64_t>(std::ceil(std::sqrt(double(n))));
  const int64_t rows = (n + cols - 1) / cols;
  const int64_t tile = o.tile > 0 ? o.tile : images[0].width;
  const int64_t caption_h = o.captions ? kCaptionLines * kLineHeight + 4 : 0;
  const int64_t cell_w = tile + o.padding, cell_h = tile + caption_h + o.padding;
  cv::Mat sheet(static_cast<int>(rows * cell_h + o.padding), static_cast<int>(cols * cell_w + o.padding), CV_8UC3,
                cv::Scalar(o.background, o.background, o.background));
  for (int64_t i = 0; i < n; ++i) {
    const RgbImage& im = images[static_cast<size_t>(i)];
    cv::Mat src(static_cast<int>(im.height), static_cast<int>(im.width), CV_8UC3, const_cast<uint8_t*>(im.pixels.data()));
    cv::Mat scaled;
    if (im.width == tile && im.height == tile) {
      scaled = src;
    } else {
      cv::resize(src, scaled, cv::Size(static_cast<int>(tile), static_cast<int>(tile)), 0, 0,
                 im.width > tile ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
    const int x = static_cast<int>(o.padding + (i % cols) * cell_w), y = static_cast<int>(o.padding + (i / cols) * cell_h);
    scaled.copyTo(sheet(cv::Rect(x, y, static_cast<int>(tile), static_cast<int>(tile))));
    if (o.captions && i < static_cast<int64_t>(captions.size())) {
      int line_y = y + static_cast<int>(tile) + kLineHeight - 2;
      for (const auto& line : wrap(captions[static_cast<size_t>(i)], static_cast<int>(tile))) {
        cv::putText(sheet, line, cv::Point(x, line_y), kFont, kFontScale, cv::Scalar(30, 30, 30), 1, cv::LINE_AA);
        line_y += kLineHeight;
      }
    }
  }
  RgbImage out{sheet.cols, sheet.rows, std::vector<uint8_t>(sheet.total() * 3)};
  std::memcpy(out.pixels.data(), sheet.data, out.pixels.size());
  return out;
}

}  // namespace januskit::io
