// Contact sheets: images tiled into one grid picture, optionally with a caption under each tile
// (OpenCV drawing), for `generate --grid` and gallery overviews.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/image.hpp"

namespace januskit::io {

struct SheetOptions {
  int64_t columns = 0;        // 0: ceil(sqrt(n))
  int64_t padding = 4;        // pixels between tiles and around the sheet
  int64_t tile = 0;           // tile side; 0: the first image's width
  uint8_t background = 255;   // white
  bool captions = false;      // draw each caption (one or two lines) under its tile
};

// All images are scaled to the tile size (area interpolation when shrinking).
RgbImage make_contact_sheet(const std::vector<RgbImage>& images, const std::vector<std::string>& captions,
                            const SheetOptions& options = {});

}  // namespace januskit::io
