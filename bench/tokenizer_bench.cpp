// tokenizer_bench: times januskit's tokenizer on a corpus, for bench/tokenizer_throughput.py.
//
//   tokenizer_bench TOKENIZER CORPUS [--repeat N] [--ids-out FILE]
//
// CORPUS holds one document per line (a literal "\n" inside a document is written as the two
// characters \ and n by the script and restored here, so documents may contain newlines). Prints
// one JSON line: tokenizer.json load time (best of N loads), then the best of N timed passes that encode every
// document (add_special_tokens=false) on one thread. The timing excludes process start, file
// reading and tokenizer loading. --ids-out writes the ids of the last pass as little-endian int32
// so the script can compare them with the reference's.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/timer.hpp"
#include "text/tokenizer.hpp"

namespace {

std::vector<std::string> read_documents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw januskit::FileError(path, "cannot be opened");
  std::vector<std::string> docs;
  std::string line;
  while (std::getline(in, line)) {
    std::string doc;
    doc.reserve(line.size());
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == 'n' || line[i + 1] == '\\')) {
        doc += line[i + 1] == 'n' ? '\n' : '\\';
        ++i;
      } else {
        doc += line[i];
      }
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 3) {
      std::cerr << "usage: tokenizer_bench TOKENIZER CORPUS [--repeat N] [--ids-out FILE]\n";
      return 2;
    }
    std::string tokenizer_path = argv[1], corpus_path = argv[2], ids_out;
    int repeat = 3;
    for (int i = 3; i + 1 < argc; i += 2) {
      std::string flag = argv[i];
      if (flag == "--repeat") repeat = std::stoi(argv[i + 1]);
      else if (flag == "--ids-out") ids_out = argv[i + 1];
      else throw januskit::UsageError("unknown flag " + flag);
    }
    std::vector<std::string> docs = read_documents(corpus_path);
    size_t bytes = 0;
    for (const auto& d : docs) bytes += d.size();

    double load_s = 1e300;
    std::optional<januskit::text::Tokenizer> loaded;
    for (int r = 0; r < repeat; ++r) {
      loaded.reset();
      januskit::Stopwatch load_watch;
      loaded.emplace(januskit::text::Tokenizer::load(tokenizer_path));
      load_s = std::min(load_s, load_watch.seconds());
    }
    const januskit::text::Tokenizer& tok = *loaded;

    std::vector<int32_t> ids;
    ids.reserve(bytes / 2);
    double best = 1e300;
    for (int r = 0; r < repeat; ++r) {
      ids.clear();
      januskit::Stopwatch watch;
      for (const auto& d : docs) tok.encode_into(d, ids);
      best = std::min(best, watch.seconds());
    }
    if (!ids_out.empty()) {
      std::ofstream out(ids_out, std::ios::binary);
      out.write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * sizeof(int32_t)));
    }
    std::printf("{\"load_s\": %.6f, \"encode_s\": %.6f, \"bytes\": %zu, \"documents\": %zu, \"tokens\": %zu}\n", load_s,
                best, bytes, docs.size(), ids.size());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << januskit::format_error_line(e.what()) << "\n";
    return 1;
  }
}
