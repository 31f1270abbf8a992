// PNG output with generation metadata, and reading that metadata back.
//
// Images are encoded with stb_image_write; the text chunk "parameters" (the layout AUTOMATIC1111 and
// stable-diffusion.cpp use, which image viewers and galleries understand) is inserted after IHDR:
// tEXt when the text is Latin-1, iTXt (UTF-8) otherwise. Files are written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace januskit::io {

// Encodes 8-bit RGB pixels (rows top to bottom) as PNG bytes with the given text chunks.
std::string encode_png(const uint8_t* rgb, int64_t width, int64_t height,
                       const std::vector<std::pair<std::string, std::string>>& text = {});
// encode_png + an atomic write (temp file + rename); parent folders are created.
void write_png(const std::filesystem::path& path, const uint8_t* rgb, int64_t width, int64_t height,
               const std::vector<std::pair<std::string, std::string>>& text = {});

// All tEXt/iTXt chunks of a PNG file (keyword -> text). Throws FileError for a file that is not a PNG
// or is corrupt.
std::map<std::string, std::string> read_png_text(const std::filesystem::path& path);

}  // namespace januskit::io
