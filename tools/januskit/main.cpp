// januskit: Janus-Pro image generation/understanding and DeepSeek-R1 reasoning from the command line.
// Parses flags, runs the chosen subcommand, and turns every failure into one `error:` line:
// exit 1 for errors, 2 for usage errors (unknown flag, bad value).
#include <c10/util/Exception.h>

#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace {

int fail(const std::string& message, int code) {
  std::cerr << januskit::format_error_line(message) << std::endl;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace januskit;
  CLI::App app{"januskit: run DeepSeek's Janus-Pro and R1 models from the command line"};
  app.name("januskit");
  app.set_version_flag("--version", [] { std::string r = version_report(); r.pop_back(); return r; }, "Print version, LibTorch and CUDA information");
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Print only results and errors");
  app.add_flag("-v,--verbose", verbose, "Print details (load times, shapes, kernels)");
  app.fallthrough();
  app.require_subcommand(0, 1);
  cli::add_all_commands(app);
  app.parse_complete_callback([&] { set_verbosity(quiet ? Verbosity::quiet : verbose ? Verbosity::verbose : Verbosity::normal); });

  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      std::cout << app.help();
      return 0;
    }
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    return fail(std::string(e.what()) + " (run januskit --help)", 2);
  } catch (const UsageError& e) {
    return fail(e.what(), 2);
  } catch (const Error& e) {
    return fail(e.what(), 1);
  } catch (const c10::Error& e) {
    // LibTorch checks (shape or dtype mismatches) carry a backtrace; the first line is the message.
    return fail(e.what_without_backtrace(), 1);
  } catch (const std::bad_alloc&) {
    return fail("out of memory; try a smaller --count/batch, --dtype bf16, or a smaller model", 1);
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }
  return 0;
}
