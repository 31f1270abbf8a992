// Byte counts as people write and read them: "5GB", "2GiB", "4096" in, "4.18 GB" out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace januskit {

// "5GB" (10^9), "500MB", "2GiB" (2^30), "1.5GB", "4096": a byte count for a flag or variable.
// Throws UsageError naming `flag`.
uint64_t parse_size(std::string_view text, std::string_view flag = "--shard-size");

// "4.18 GB", "512 B", "1.50 MB" (decimal units, as model hubs print sizes).
std::string format_bytes(uint64_t bytes);

}  // namespace januskit
