#include "io/torch_zip.hpp"

#include <algorithm>
#include <iterator>

#include "core/error.hpp"
#include "core/log.hpp"
#include "io/mapped_tensor.hpp"
#include "io/zip_directory.hpp"

namespace januskit::io {
namespace {

// The entry "<top>/data.pkl": the top folder is whatever torch.save named it.
const ZipEntry& find_data_pkl(const std::vector<ZipEntry>& entries, const std::string& path, std::string& top) {
  const ZipEntry* found = nullptr;
  for (const ZipEntry& e : entries) {
    const size_t slash = e.name.find('/');
    if (slash == std::string::npos || slash == 0 || e.name.compare(slash, std::string::npos, "/data.pkl") != 0) continue;
    if (found != nullptr) throw FileError(path, "the archive holds several data.pkl entries; this is not a torch.save checkpoint");
    found = &e;
    top = e.name.substr(0, slash);
  }
  if (found == nullptr) {
    throw FileError(path, "zip archive without a <folder>/data.pkl entry; this is not a torch.save checkpoint");
  }
  return *found;
}

}  // namespace

bool looks_like_zip(std::span<const uint8_t> b) {
  return b.size() >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
}

bool looks_like_legacy_torch(std::span<const uint8_t> b) {
  // PROTO 2, LONG1 of 10 bytes: the magic number, little-endian.
  static constexpr uint8_t kMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  return b.size() >= sizeof kMagic && std::equal(std::begin(kMagic), std::end(kMagic), b.begin());
}

TorchZipFile TorchZipFile::open(const std::filesystem::path& path) {
  const std::string shown = path.string();
  TorchZipFile f;
  f.file_ = MappedFile::open(path);
  const std::span<const uint8_t> bytes = f.file_->bytes();
  if (bytes.empty()) throw FileError(shown, "file is empty; the download or copy may have failed, fetch the file again");
  if (!looks_like_zip(bytes)) {
    // Any pickle stream here is the legacy format (its magic number may use another protocol).
    if (looks_like_legacy_torch(bytes) || (bytes.size() >= 2 && bytes[0] == 0x80 && bytes[1] <= 5)) {
      throw FileError(shown,
                      "legacy torch.save format (before torch 1.6, not a zip archive) is not supported; re-save it "
                      "with a newer torch (torch.save(torch.load(f), f)) or convert it to safetensors in Python");
    }
    throw FileError(shown, "not a PyTorch checkpoint (no zip header); expected a file written by torch.save");
  }

  const std::vector<ZipEntry> entries = read_zip_directory(bytes, shown);
  std::string top;
  const ZipEntry& pkl_entry = find_data_pkl(entries, shown, top);
  std::map<std::string, const ZipEntry*> by_name;
  for (const ZipEntry& e : entries) by_name.emplace(e.name, &e);

  const std::span<const uint8_t> pkl = zip_entry_bytes(bytes, pkl_entry, shown);
  if (crc32(pkl) != pkl_entry.crc32) {
    throw FileError(shown, cat(pkl_entry.name, " fails its CRC check; the file is corrupt, fetch it again"));
  }
  if (auto it = by_name.find(top + "/byteorder"); it != by_name.end()) {
    const auto order = zip_entry_bytes(bytes, *it->second, shown);
    if (std::string_view(reinterpret_cast<const char*>(order.data()), order.size()) != "little") {
      throw FileError(shown, "the checkpoint was saved on a big-endian machine; januskit reads little-endian checkpoints only");
    }
  }
  f.pickle_ = read_state_dict_pickle(pkl, shown);
  if (!f.pickle_.unwrapped.empty()) log::debug(shown, ": tensors taken from the nested dict '", f.pickle_.unwrapped, "'");
  if (!f.pickle_.skipped.empty()) {
    log::debug(shown, ": ", f.pickle_.skipped.size(), " non-tensor entries skipped (first: ", f.pickle_.skipped.front(), ")");
  }

  for (const PickledStorage& s : f.pickle_.storages) {
    const std::string entry_name = cat(top, "/data/", s.key);
    auto it = by_name.find(entry_name);
    if (it == by_name.end()) {
      throw FileError(shown, cat("storage ", entry_name, " named by data.pkl is missing from the archive; the file is corrupt"));
    }
    const uint64_t offset = zip_entry_data_offset(bytes, *it->second, shown);
    if (it->second->size < s.nbytes()) {
      throw FileError(shown, cat("storage ", entry_name, " holds ", it->second->size, " bytes but data.pkl needs ", s.nbytes(),
                                 "; the file is corrupt"));
    }
    f.storages_.push_back(mapped_storage(f.file_, offset, s.nbytes()));
    f.storage_offsets_.push_back(offset);
  }
  return f;
}

at::Tensor TorchZipFile::view(size_t index) const {
  const PickledTensor& t = pickle_.tensors.at(index);
  // An empty tensor may carry any offset; keep it inside its storage so no pointer points outside.
  const int64_t offset = t.numel() == 0 ? 0 : t.offset;
  return view_of(storages_.at(t.storage), to_scalar_type(t.dtype), offset, t.sizes, t.strides);
}

std::pair<uint64_t, uint64_t> TorchZipFile::file_range(size_t index) const {
  const PickledTensor& t = pickle_.tensors.at(index);
  const uint64_t begin = storage_offsets_.at(t.storage);
  return {begin, begin + pickle_.storages.at(t.storage).nbytes()};
}

}  // namespace januskit::io
