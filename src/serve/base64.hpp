// Base64 (RFC 4648, standard alphabet, padded) for the JSON bodies of the server: images out as
// b64_json, images in as data: URLs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace januskit::serve {

std::string base64_encode(std::string_view bytes);
// Nothing for text that is not base64 (whitespace is skipped; padding is optional).
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace januskit::serve
