// januskit serve: an OpenAI-compatible HTTP server over the loaded models (src/serve).
#include <csignal>
#include <iostream>
#include <pthread.h>
#include <thread>

#include "commands.hpp"
#include "core/error.hpp"
#include "serve/http_server.hpp"

namespace januskit::cli {

namespace {

// SIGINT/SIGTERM are taken by one thread (sigwait), which stops the server: running requests end
// with an error, the listener closes, and serve returns normally. The signals are blocked before
// the model threads exist, so that every thread inherits the mask and none is killed by them.
sigset_t blocked_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // our own wake-up once the server has stopped by itself
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void serve_until_signal(serve::Server& server, const sigset_t& signals) {
  std::thread watcher([&] {
    int got = 0;
    sigwait(&signals, &got);
    if (got != SIGUSR1) std::cerr << "januskit serve: stopping (signal " << got << ")" << std::endl;
    server.stop();
  });
  auto wake_watcher = [&] {
    pthread_kill(watcher.native_handle(), SIGUSR1);
    watcher.join();
  };
  try {
    server.listen([](int port) { std::cerr << "januskit serve: listening on port " << port << std::endl; });
  } catch (...) {
    wake_watcher();
    throw;
  }
  wake_watcher();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    std::vector<std::string> models;
    serve::ServeOptions options;
  };
  auto flags = std::make_shared<Flags>();
  auto& o = flags->options;
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server: chat/completions, completions, images/generations");
  add_model_flags(*cmd, flags->model);
  // -m may repeat here: one server for several models (a reasoning model and Janus-Pro, say).
  cmd->remove_option(cmd->get_option("--model"));
  cmd->add_option("-m,--model", flags->models, "Model folder; repeat for several (default: the bundled demo-r1 and demo-janus)");
  cmd->add_option("--host", o.host, "Address to listen on (loopback unless told otherwise)")->capture_default_str();
  cmd->add_option("--port", o.port, "Port (0: any free port, printed at start)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", o.api_key, "Require \"Authorization: Bearer KEY\" on every route but /health");
  cmd->add_option("--max-batch", o.max_batch, "Rows decoded together per text model, images per batch")->capture_default_str();
  cmd->add_option("--ctx", o.context, "KV cache slots a text model's rows share (0: the model's context)")->capture_default_str();
  cmd->add_option("--chat-format", o.chat_format, "Prompt format of the text models (auto: from each folder)")->capture_default_str();
  cmd->add_option("--image-dir", o.image_dir, "Where response_format \"url\" images are written (served at /images/)");
  cmd->add_option("--max-body", o.max_body_bytes, "Largest request body in bytes")->capture_default_str();
  cmd->add_option("--http-threads", o.threads, "HTTP worker threads (0: 2 x max-batch + 8, at least 16)")->capture_default_str();
  cmd->callback([flags] {
    auto& f = *flags;
    for (const auto& m : f.models) {
      ModelFlags one = f.model;
      one.model = m;
      f.options.models.push_back(one.request());
    }
    const sigset_t signals = blocked_signals();
    serve::Server server(f.options);
    serve_until_signal(server, signals);
  });
}

}  // namespace januskit::cli
