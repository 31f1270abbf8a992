// `januskit serve`: an OpenAI-compatible HTTP server (cpp-httplib) over the loaded models.
//
//   POST /v1/chat/completions   reasoning models (streamed or not); Janus understanding with an image part
//   POST /v1/completions        a raw prompt, no chat template
//   POST /v1/images/generations Janus-Pro text-to-image
//   GET  /v1/models, GET /health
//
// What the routes accept is docs/openapi.yaml. Requests to a text model join its decode batch
// (engine::RequestScheduler); image requests share a Janus model's batches (serve/model_services.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pipelines/text_model.hpp"

namespace januskit::serve {

struct ServeOptions {
  std::vector<pipelines::ModelRequest> models;  // empty: the bundled demo-r1 and demo-janus
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port (Server::port() tells which)
  std::string api_key;              // set: every route but /health needs "Authorization: Bearer KEY"
  int64_t max_batch = 16;           // rows decoded together per text model; images per batch
  int64_t context = 0;              // KV cache slots shared by a text model's rows; 0: the model's context
  std::string chat_format = "auto";
  std::filesystem::path image_dir;  // set: response_format "url" writes PNGs here, served at /images/
  int64_t max_body_bytes = 32 << 20;
  int threads = 0;                  // HTTP worker threads; 0: enough for max_batch streams and more
};

class Server {
 public:
  // Loads every model (Error for a folder that is neither a text model nor Janus).
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (Error when it cannot) and serves until stop(); returns after the last request.
  void listen(const std::function<void(int port)>& on_listening = {});
  // Thread-safe (a signal watcher calls it): running requests are cancelled with an error, then the
  // listener closes.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace januskit::serve
