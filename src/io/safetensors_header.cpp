#include "io/safetensors_header.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"

namespace januskit::io {
namespace {

using nlohmann::json;

std::string known_dtypes() {
  std::string out;
  for (int i = 0; i <= static_cast<int>(DType::BOOL); ++i) {
    if (!out.empty()) out += ", ";
    out += dtype_safetensors_name(static_cast<DType>(i));
  }
  return out;
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A printable tensor name for messages: names come from the file and may be huge.
std::string shown(std::string_view name) {
  constexpr size_t kMax = 200;
  return name.size() <= kMax ? std::string(name) : std::string(name.substr(0, kMax)) + "...";
}

class HeaderParser {
 public:
  HeaderParser(std::span<const uint8_t> file, std::string_view path) : file_(file), path_(path) {}

  SafetensorsHeader parse() {
    SafetensorsHeader h;
    const json root = read_json(h);
    for (auto it = root.begin(); it != root.end(); ++it) {
      if (it.key() == "__metadata__") {
        read_metadata(it.value(), h);
      } else {
        h.tensors.push_back(read_entry(it.key(), it.value(), h.data_size));
      }
    }
    check_layout(h);
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw FileError(path_, problem); }

  json read_json(SafetensorsHeader& h) {
    const uint64_t size = file_.size();
    if (size == 0) fail("file is empty; the download or copy may have failed, fetch the file again");
    if (size < 8) {
      fail(cat("file is too short to be safetensors (", size,
               " bytes, the header length alone takes 8); the file is truncated, fetch it again"));
    }
    const uint64_t n = read_le64(file_.data());
    if (n > kMaxSafetensorsHeader) {
      fail(cat("header length ", n, " is over the ", kMaxSafetensorsHeader,
               "-byte limit; this is not a safetensors file, or it is corrupt"));
    }
    if (n > size - 8) {
      fail(cat("header length ", n, " runs past the end of the file (", size,
               " bytes); the file is truncated or is not safetensors"));
    }
    if (n < 2) fail(cat("header length ", n, " is too short for a JSON object; the file is corrupt"));
    h.data_offset = 8 + n;
    h.data_size = size - h.data_offset;
    const auto* begin = file_.data() + 8;
    if (*begin != '{') fail("header does not start with '{'; this is not a safetensors file");

    // Duplicate top-level names would silently hide a tensor (JSON objects keep the last one).
    std::set<std::string> seen;
    std::string duplicate;
    json::parser_callback_t track = [&](int depth, json::parse_event_t event, json& parsed) {
      if (event == json::parse_event_t::key && depth == 1) {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
      }
      return true;
    };
    json root;
    try {
      root = json::parse(begin, begin + n, track);
    } catch (const json::exception& e) {
      fail(cat("header is not valid JSON (", e.what(), "); the file is corrupt or not safetensors"));
    }
    if (!root.is_object()) fail("header is not a JSON object; the file is corrupt or not safetensors");
    if (!duplicate.empty()) fail(cat("header names tensor '", shown(duplicate), "' twice; the file is corrupt"));
    return root;
  }

  void read_metadata(const json& value, SafetensorsHeader& h) const {
    if (!value.is_object()) fail("__metadata__ is not an object of strings; the file is corrupt");
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!it.value().is_string()) {
        fail(cat("__metadata__ entry '", shown(it.key()), "' is ", it.value().type_name(),
                 ", expected a string; the file is corrupt"));
      }
      h.metadata.emplace(it.key(), it.value().get<std::string>());
    }
  }

  SafetensorsEntry read_entry(const std::string& name, const json& value, uint64_t data_size) const {
    const std::string where = cat("tensor '", shown(name), "'");
    if (!value.is_object()) fail(cat(where, ": entry is ", value.type_name(), ", expected an object"));
    SafetensorsEntry e;
    e.name = name;

    auto dtype_it = value.find("dtype");
    if (dtype_it == value.end() || !dtype_it->is_string()) fail(cat(where, ": missing \"dtype\" string"));
    const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
    auto dtype = dtype_from_safetensors_name(dtype_name);
    if (!dtype) {
      fail(cat(where, ": unknown dtype '", shown(dtype_name), "' (januskit reads ", known_dtypes(), ")"));
    }
    e.dtype = *dtype;

    auto shape_it = value.find("shape");
    if (shape_it == value.end() || !shape_it->is_array()) fail(cat(where, ": missing \"shape\" list"));
    if (shape_it->size() > kMaxTensorRank) {
      fail(cat(where, ": shape has ", shape_it->size(), " dimensions (at most ", kMaxTensorRank, ")"));
    }
    uint64_t numel = 1;
    bool overflow = false;
    for (const json& d : *shape_it) {
      // number_unsigned only: negative numbers parse as number_integer, fractions as number_float.
      if (!d.is_number_unsigned()) fail(cat(where, ": shape ", shape_it->dump(), " must hold non-negative integers"));
      const uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(INT64_MAX)) fail(cat(where, ": dimension ", dim, " is too large"));
      e.shape.push_back(static_cast<int64_t>(dim));
      overflow = overflow || !checked_mul(numel, dim, numel);
    }
    uint64_t nbytes = 0;
    if (overflow || !checked_mul(numel, static_cast<uint64_t>(dtype_size(e.dtype)), nbytes)) {
      fail(cat(where, ": shape ", format_shape(e.shape), " is too large (its byte size overflows)"));
    }

    auto off_it = value.find("data_offsets");
    if (off_it == value.end() || !off_it->is_array() || off_it->size() != 2 || !(*off_it)[0].is_number_unsigned() ||
        !(*off_it)[1].is_number_unsigned()) {
      fail(cat(where, ": \"data_offsets\" must be [begin, end] with non-negative integers"));
    }
    e.begin = (*off_it)[0].get<uint64_t>();
    e.end = (*off_it)[1].get<uint64_t>();
    if (e.begin > e.end) fail(cat(where, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin"));
    if (e.end > data_size) {
      fail(cat(where, ": data_offsets [", e.begin, ", ", e.end, "] run past the end of the data area (", data_size,
               " bytes); the file is truncated or corrupt, fetch it again"));
    }
    if (e.end - e.begin != nbytes) {
      fail(cat(where, ": shape ", format_shape(e.shape), " of ", dtype_name, " needs ", nbytes,
               " bytes but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin,
               "; the file is corrupt"));
    }
    return e;
  }

  // Tensors in data order must tile the data area exactly: no overlap, no gap, nothing after.
  void check_layout(SafetensorsHeader& h) const {
    std::sort(h.tensors.begin(), h.tensors.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t covered = 0;
    const SafetensorsEntry* previous = nullptr;
    for (const SafetensorsEntry& e : h.tensors) {
      if (e.begin < covered) {
        fail(cat("tensors '", shown(previous->name), "' [", previous->begin, ", ", previous->end, "] and '",
                 shown(e.name), "' [", e.begin, ", ", e.end, "] overlap in the data area; the file is corrupt"));
      }
      if (e.begin > covered) {
        fail(cat("bytes [", covered, ", ", e.begin, ") of the data area belong to no tensor (before '", shown(e.name),
                 "'); safetensors files have no gaps, the file is corrupt"));
      }
      covered = e.end;
      previous = &e;
    }
    if (covered != h.data_size) {
      fail(cat("the data area holds ", h.data_size, " bytes but the tensors end at ", covered,
               "; the file has trailing bytes and is corrupt"));
    }
  }

  std::span<const uint8_t> file_;
  std::string path_;
};

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file, std::string_view path) {
  return HeaderParser(file, path).parse();
}

std::string format_shape(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace januskit::io
