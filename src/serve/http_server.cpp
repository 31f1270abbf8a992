#include "serve/http_server.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <random>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "io/image.hpp"
#include "io/model_dir.hpp"
#include "io/png.hpp"
#include "models/registry.hpp"
#include "pipelines/ask.hpp"
#include "pipelines/describe_image.hpp"
#include "pipelines/janus_model.hpp"
#include "pipelines/model_location.hpp"
#include "serve/api_error.hpp"
#include "serve/base64.hpp"
#include "serve/model_services.hpp"
#include "serve/openai_request.hpp"
#include "text/reasoning_stream.hpp"

namespace januskit::serve {

using nlohmann::json;

namespace {

int64_t unix_time() { return static_cast<int64_t>(std::time(nullptr)); }

std::string request_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = random_seed();
  return cat(prefix, std::hex, salt ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ull));
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status(), e.to_json()); }

std::string sse(const json& chunk) {
  return "data: " + chunk.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

// Server-sent events from the thread that generates to the HTTP thread that writes them.
class EventQueue {
 public:
  void push(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    ready_.notify_all();
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }
  // An event; nothing after close() once drained; "" when `wait` passed without one.
  std::optional<std::string> pop(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, wait, [&] { return closed_ || !events_.empty(); });
    if (events_.empty()) return closed_ ? std::nullopt : std::optional<std::string>("");
    std::string e = std::move(events_.front());
    events_.pop_front();
    return e;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> events_;
  bool closed_ = false;
};

// Streams `queue` as the response body; a client that goes away sets `cancelled`.
void stream_events(httplib::Response& res, std::shared_ptr<EventQueue> queue, std::shared_ptr<std::atomic<bool>> cancelled) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [queue, cancelled](size_t, httplib::DataSink& sink) {
        auto event = queue->pop(std::chrono::milliseconds(500));
        if (!event) {
          sink.done();
          return true;
        }
        if (event->empty()) {
          if (sink.is_writable()) return true;
          cancelled->store(true);
          return false;
        }
        if (!sink.write(event->data(), event->size())) {
          cancelled->store(true);
          return false;
        }
        return true;
      },
      [cancelled](bool success) {
        if (!success) cancelled->store(true);
      });
}

const char* finish_reason(engine::StopReason r) {
  return r == engine::StopReason::max_tokens || r == engine::StopReason::context_full ? "length" : "stop";
}

// One token as OpenAI's chat logprobs describe it.
json token_logprob(const text::Tokenizer& tok, int32_t id, float logprob) {
  const int32_t one[] = {id};
  const std::string text = tok.decode(one);
  return {{"token", text}, {"logprob", logprob}, {"bytes", std::vector<uint8_t>(text.begin(), text.end())}};
}

json chat_logprob_entry(const text::Tokenizer& tok, const engine::TokenEvent& e, const engine::TokenLogprobs& lp) {
  json entry = token_logprob(tok, e.token, lp.logprob);
  json top = json::array();
  for (const auto& [id, value] : lp.top) top.push_back(token_logprob(tok, id, value));
  entry["top_logprobs"] = top;
  return entry;
}

// The sampling a text request asks for: ask's defaults (R1's), then the folder's
// generation_config.json for what the request leaves out, then the request.
engine::SamplingOptions request_sampling(const pipelines::TextModel& m, const SamplingRequest& s) {
  pipelines::SamplingGiven given{s.temperature.has_value(), s.top_p.has_value(), s.top_k.has_value(),
                                 s.min_p.has_value(), s.repetition_penalty.has_value()};
  engine::SamplingOptions o = pipelines::with_folder_sampling(m, pipelines::AskOptions::default_r1_sampling(), given);
  if (s.temperature) o.temperature = *s.temperature;
  if (s.top_p) o.top_p = *s.top_p;
  if (s.top_k) o.top_k = *s.top_k;
  if (s.min_p) o.min_p = *s.min_p;
  if (s.repetition_penalty) o.repetition_penalty = *s.repetition_penalty;
  if (s.presence_penalty) o.presence_penalty = *s.presence_penalty;
  if (s.frequency_penalty) o.frequency_penalty = *s.frequency_penalty;
  o.seed = s.seed.value_or(random_seed());
  return o;
}

// A text request from the HTTP thread's side: what the scheduler's callbacks fill in.
struct TextCall {
  bool chat = true;
  std::string id, model;
  int64_t created = 0;
  pipelines::PreparedPrompt prompt;
  SamplingRequest sampling;
  uint64_t seed = 0;
  const pipelines::TextModel* text_model = nullptr;
  std::vector<text::ReasoningStream> splitters;
  std::vector<json> logprobs;  // per choice: the entries so far
  std::shared_ptr<EventQueue> events;  // streaming
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  std::promise<engine::GenerationResult> result;  // not streaming
};

json chunk_base(const TextCall& c) {
  return {{"id", c.id}, {"object", c.chat ? "chat.completion.chunk" : "text_completion"}, {"created", c.created}, {"model", c.model}};
}

json usage_json(const TextCall& c, const engine::GenerationResult& r) {
  int64_t completion = 0, reasoning = 0;
  for (const auto& row : r.rows) {
    completion += static_cast<int64_t>(row.tokens.size());
    if (c.chat) reasoning += pipelines::make_sample(*c.text_model, c.prompt, row, 0).reasoning_tokens;
  }
  const auto prompt = static_cast<int64_t>(c.prompt.ids.size());
  json u = {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
  if (c.chat) u["completion_tokens_details"] = {{"reasoning_tokens", reasoning}};
  return u;
}

// A streamed delta of choice `index`: reasoning and answer text as separate fields.
json delta_chunk(const TextCall& c, int64_t index, const text::ReasoningStream::Pieces& p, const json* logprob) {
  json choice = {{"index", index}, {"finish_reason", nullptr}};
  if (c.chat) {
    json delta = json::object();
    if (!p.reasoning.empty()) {
      delta["reasoning_content"] = p.reasoning;
      delta["reasoning"] = p.reasoning;
    }
    if (!p.answer.empty()) delta["content"] = p.answer;
    choice["delta"] = delta;
    choice["logprobs"] = logprob != nullptr ? json{{"content", json::array({*logprob})}} : json(nullptr);
  } else {
    choice["text"] = p.answer;
    choice["logprobs"] = nullptr;
  }
  json chunk = chunk_base(c);
  chunk["choices"] = json::array({choice});
  return chunk;
}

// /v1/completions' older logprobs shape, from the chat entries.
json legacy_logprobs(const json& entries) {
  json tokens = json::array(), logprobs = json::array(), top = json::array(), offsets = json::array();
  int64_t offset = 0;
  for (const auto& e : entries) {
    tokens.push_back(e["token"]);
    logprobs.push_back(e["logprob"]);
    json alternatives = json::object();
    for (const auto& t : e["top_logprobs"]) alternatives[t["token"].get<std::string>()] = t["logprob"];
    top.push_back(alternatives);
    offsets.push_back(offset);
    offset += static_cast<int64_t>(e["token"].get<std::string>().size());
  }
  return {{"tokens", tokens}, {"token_logprobs", logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
}

}  // namespace

struct Server::Impl {
  ServeOptions options;
  std::vector<std::unique_ptr<TextService>> texts;
  std::vector<std::unique_ptr<JanusService>> janus;
  httplib::Server http;
  std::atomic<bool> stopping{false};
  int64_t started = unix_time();

  explicit Impl(ServeOptions o) : options(std::move(o)) {
    if (options.max_batch < 1) throw UsageError("--max-batch must be at least 1");
    if (options.context < 0) throw UsageError("--ctx must be >= 0 (0: the model's context)");
    std::vector<pipelines::ModelRequest> models = options.models;
    if (models.empty()) {
      pipelines::ModelRequest r;
      r.model = pipelines::resolve_model_dir("", "demo-r1").string();
      models.push_back(r);
      r.model = pipelines::resolve_model_dir("", "demo-janus").string();
      models.push_back(r);
    }
    for (const auto& m : models) {
      const io::ModelDir dir = io::ModelDir::open(pipelines::resolve_model_dir(m.model, "demo-r1"));
      if (models::detect_architecture(dir).kind == models::ModelKind::janus) {
        janus.push_back(std::make_unique<JanusService>(m, options.max_batch));
        log::info("serving ", janus.back()->id(), " (Janus: images, understanding)");
      } else {
        texts.push_back(std::make_unique<TextService>(m, options.chat_format, options.max_batch, options.context));
        log::info("serving ", texts.back()->id(), " (text, context ", texts.back()->context(), ", ",
                  texts.back()->max_batch(), " rows)");
      }
    }
    if (!options.image_dir.empty()) std::filesystem::create_directories(options.image_dir);
    routes();
  }

  ~Impl() { stop_models(); }

  void stop_models() {
    for (auto& t : texts) t->stop();
    for (auto& j : janus) j->stop();
  }

  // --- model lookup ------------------------------------------------------------------------------
  TextService* find_text(const std::string& id) {
    for (auto& t : texts) {
      if (t->id() == id || (id.empty() && texts.size() == 1)) return t.get();
    }
    return nullptr;
  }
  JanusService* find_janus(const std::string& id) {
    for (auto& j : janus) {
      if (j->id() == id || (id.empty() && janus.size() == 1)) return j.get();
    }
    return nullptr;
  }
  ApiError unknown_model(const std::string& id, const char* kind) {
    if (id.empty()) {
      return ApiError(400, cat("\"model\" is required: this server holds several ", kind, " models (GET /v1/models)"), "model",
                      "model_required");
    }
    return ApiError(404, cat("the model '", id, "' does not exist here or is not a ", kind, " model; GET /v1/models lists them"),
                    "model", "model_not_found");
  }

  // --- request plumbing --------------------------------------------------------------------------
  static json parse_body(const httplib::Request& req) {
    const std::string type = req.get_header_value("Content-Type");
    if (type.rfind("application/json", 0) != 0) {
      throw ApiError(415, cat("expected a JSON body (Content-Type: application/json), got '", type, "'"), "", "unsupported_media_type");
    }
    try {
      return json::parse(req.body);
    } catch (const json::parse_error& e) {
      throw ApiError(400, cat("the body is not valid JSON: ", e.what()), "", "invalid_json");
    }
  }

  template <typename Handler>
  httplib::Server::Handler guarded(Handler handler) {
    return [handler](const httplib::Request& req, httplib::Response& res) {
      try {
        handler(req, res);
      } catch (const ApiError& e) {
        send_error(res, e);
      } catch (const UsageError& e) {
        send_error(res, ApiError(400, e.what()));
      } catch (const Error& e) {
        // What januskit refuses about a request (a prompt too long, a bad image) is the client's to fix.
        send_error(res, ApiError(400, e.what()));
      } catch (const std::exception& e) {
        log::warn("internal error: ", e.what());
        send_error(res, ApiError(500, cat("internal error: ", e.what()), "", "internal_error"));
      }
    };
  }

  void routes() {
    http.set_payload_max_length(static_cast<size_t>(options.max_body_bytes));
    http.set_read_timeout(30, 0);
    http.set_write_timeout(30, 0);
    const size_t threads = options.threads > 0 ? static_cast<size_t>(options.threads)
                                               : static_cast<size_t>(std::max<int64_t>(16, 2 * options.max_batch + 8));
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (options.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value("Authorization") == "Bearer " + options.api_key) return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, ApiError(401, "missing or wrong API key: send \"Authorization: Bearer KEY\"", "", "invalid_api_key"));
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (res.status == 413) {
        send_error(res, ApiError(413, cat("the body exceeds ", options.max_body_bytes, " bytes"), "", "request_too_large"));
      } else if (res.status == 404) {
        send_error(res, ApiError(404, cat("no route ", req.method, " ", req.path, "; see docs/openapi.yaml"), "", "unknown_url"));
      } else {
        send_error(res, ApiError(res.status, cat("the request could not be read (HTTP ", res.status, ")")));
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, ApiError(500, "internal error: " + what, "", "internal_error"));
    });
    http.Get("/health", guarded([this](const httplib::Request&, httplib::Response& res) { health(res); }));
    http.Get("/v1/models", guarded([this](const httplib::Request&, httplib::Response& res) { list_models(res); }));
    http.Post("/v1/chat/completions", guarded([this](const httplib::Request& req, httplib::Response& res) { chat(req, res); }));
    http.Post("/v1/completions", guarded([this](const httplib::Request& req, httplib::Response& res) { completion(req, res); }));
    http.Post("/v1/images/generations", guarded([this](const httplib::Request& req, httplib::Response& res) { images(req, res); }));
    if (!options.image_dir.empty()) http.set_mount_point("/images", options.image_dir.string());
  }

  // --- GET ---------------------------------------------------------------------------------------
  void health(httplib::Response& res) {
    json models = json::array();
    for (auto& t : texts) {
      auto load = t->load();
      models.push_back({{"id", t->id()}, {"running_rows", load.running_rows}, {"waiting_requests", load.waiting_requests}});
    }
    for (auto& j : janus) models.push_back({{"id", j->id()}, {"queued_requests", j->queued()}});
    send_json(res, 200, {{"status", stopping ? "stopping" : "ok"}, {"models", models}});
  }

  void list_models(httplib::Response& res) {
    json data = json::array();
    for (auto& t : texts) {
      data.push_back({{"id", t->id()},
                      {"object", "model"},
                      {"created", started},
                      {"owned_by", "januskit"},
                      {"januskit", {{"kind", "text"},
                                    {"chat_format", text::chat_format_name(t->format())},
                                    {"context", t->context()},
                                    {"max_batch", t->max_batch()}}}});
    }
    for (auto& j : janus) {
      data.push_back({{"id", j->id()},
                      {"object", "model"},
                      {"created", started},
                      {"owned_by", "januskit"},
                      {"januskit", {{"kind", "janus"}, {"image_size", j->info().size}}}});
    }
    send_json(res, 200, {{"object", "list"}, {"data", data}});
  }

  // --- text generation ---------------------------------------------------------------------------
  void chat(const httplib::Request& req, httplib::Response& res) {
    ChatRequest r = parse_chat_request(parse_body(req));
    TextService* text_service = r.image ? nullptr : find_text(r.model);
    JanusService* janus_service = text_service == nullptr ? find_janus(r.model) : nullptr;
    if (janus_service != nullptr) return janus_chat(*janus_service, r, res);
    if (text_service == nullptr) throw unknown_model(r.model, r.image ? "Janus" : "text");
    pipelines::TextModel& m = text_service->model();
    auto call = std::make_shared<TextCall>();
    call->chat = true;
    call->model = m.name;
    call->id = request_id("chatcmpl-");
    call->prompt = pipelines::prepare_prompt(m, text_service->format(), r.enable_thinking.value_or(true), r.messages);
    std::shared_ptr<engine::TokenHook> hook;
    if (r.thinking_budget) hook = pipelines::think_budget_for(m, call->prompt, *r.thinking_budget, r.sampling.n);
    run_text(*text_service, call, r.sampling, hook, res, r.vote);
  }

  void completion(const httplib::Request& req, httplib::Response& res) {
    CompletionRequest r = parse_completion_request(parse_body(req));
    TextService* service = find_text(r.model);
    if (service == nullptr) throw unknown_model(r.model, "text");
    pipelines::TextModel& m = service->model();
    auto call = std::make_shared<TextCall>();
    call->chat = false;
    call->model = m.name;
    call->id = request_id("cmpl-");
    call->prompt = pipelines::prepare_prompt(m, std::nullopt, false, {{"user", r.prompt}});
    run_text(*service, call, r.sampling, nullptr, res, false);
  }

  void run_text(TextService& service, std::shared_ptr<TextCall> call, const SamplingRequest& s,
                std::shared_ptr<engine::TokenHook> hook, httplib::Response& res, bool vote) {
    const pipelines::TextModel& m = service.model();
    if (s.n > service.max_batch()) {
      throw bad_field("n", cat("this server runs at most ", service.max_batch(), " rows at once (--max-batch)"));
    }
    const auto p = static_cast<int64_t>(call->prompt.ids.size());
    if (p >= service.context()) {
      throw ApiError(400, cat("the prompt is ", p, " tokens but the context is ", service.context(), "; shorten it"), "messages",
                     "context_length_exceeded");
    }
    call->created = unix_time();
    call->sampling = s;
    call->text_model = &m;
    engine::ScheduledRequest q;
    q.prompt = call->prompt.ids;
    q.choices = s.n;
    q.options.max_new_tokens = std::min(s.max_tokens.value_or(service.context()), service.context() - p);
    q.options.sampling = request_sampling(m, s);
    call->seed = q.options.sampling.seed;
    q.options.eos_ids = pipelines::stop_ids(m, call->chat ? std::optional(service.format()) : std::nullopt);
    q.options.stop_strings = s.stop;
    q.options.vocab_limit = static_cast<int64_t>(m.tokenizer.vocab_size());
    q.hook = std::move(hook);
    q.top_logprobs = s.logprobs ? s.top_logprobs : -1;
    for (int64_t c = 0; c < s.n; ++c) {
      call->splitters.emplace_back(call->chat ? call->prompt.start : text::ReasoningStart::none);
    }
    call->logprobs.assign(static_cast<size_t>(s.n), json::array());
    q.cancelled = [call] { return call->cancelled->load(); };

    if (s.stream) {
      call->events = std::make_shared<EventQueue>();
      if (call->chat) {
        for (int64_t c = 0; c < s.n; ++c) {
          json first = chunk_base(*call);
          first["choices"] = json::array({{{"index", c}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}});
          call->events->push(sse(first));
        }
      }
      q.on_token = [call](const engine::TokenEvent& e, const engine::TokenLogprobs* lp) {
        auto pieces = call->splitters[static_cast<size_t>(e.row)].push(e.text);
        json entry;
        if (lp != nullptr) entry = chat_logprob_entry(call->text_model->tokenizer, e, *lp);
        if (pieces.reasoning.empty() && pieces.answer.empty() && lp == nullptr) return;
        call->events->push(sse(delta_chunk(*call, e.row, pieces, lp != nullptr ? &entry : nullptr)));
      };
      q.on_done = [call](engine::GenerationResult r) {
        for (size_t c = 0; c < r.rows.size(); ++c) {
          auto rest = call->splitters[c].finish();
          if (!rest.reasoning.empty() || !rest.answer.empty()) call->events->push(sse(delta_chunk(*call, static_cast<int64_t>(c), rest, nullptr)));
          json last = chunk_base(*call);
          json choice = {{"index", c}, {"finish_reason", finish_reason(r.rows[c].reason)}, {"logprobs", nullptr}};
          if (call->chat) {
            choice["delta"] = json::object();
          } else {
            choice["text"] = "";
          }
          last["choices"] = json::array({choice});
          call->events->push(sse(last));
        }
        if (call->sampling.include_usage) {
          json u = chunk_base(*call);
          u["choices"] = json::array();
          u["usage"] = usage_json(*call, r);
          call->events->push(sse(u));
        }
        call->events->push("data: [DONE]\n\n");
        call->events->close();
      };
      q.on_error = [call](const std::string& message) {
        call->events->push(sse(ApiError(500, message, "", "generation_failed").to_json()));
        call->events->close();
      };
      service.submit(std::move(q));
      stream_events(res, call->events, call->cancelled);
      return;
    }

    q.on_token = [call](const engine::TokenEvent& e, const engine::TokenLogprobs* lp) {
      if (lp != nullptr) call->logprobs[static_cast<size_t>(e.row)].push_back(chat_logprob_entry(call->text_model->tokenizer, e, *lp));
    };
    q.on_done = [call](engine::GenerationResult r) { call->result.set_value(std::move(r)); };
    q.on_error = [call](const std::string& message) {
      call->result.set_exception(std::make_exception_ptr(ApiError(500, message, "", "generation_failed")));
    };
    std::future<engine::GenerationResult> done = call->result.get_future();
    service.submit(std::move(q));
    engine::GenerationResult out = done.get();
    send_json(res, 200, text_response(*call, out, vote));
  }

  json text_response(const TextCall& c, const engine::GenerationResult& out, bool vote) {
    json choices = json::array();
    std::vector<std::optional<std::string>> answers;
    for (size_t i = 0; i < out.rows.size(); ++i) {
      const auto& row = out.rows[i];
      json choice = {{"index", i}, {"finish_reason", finish_reason(row.reason)}};
      if (c.chat) {
        pipelines::AskSample s = pipelines::make_sample(*c.text_model, c.prompt, row, c.seed + i);
        answers.push_back(s.final_answer);
        json message = {{"role", "assistant"}, {"content", s.content}};
        if (!s.reasoning.empty() || c.prompt.thinking) {
          message["reasoning_content"] = s.reasoning;
          message["reasoning"] = s.reasoning;
        }
        choice["message"] = message;
        choice["logprobs"] = c.sampling.logprobs ? json{{"content", c.logprobs[i]}} : json(nullptr);
      } else {
        choice["text"] = row.text;
        choice["logprobs"] = c.sampling.logprobs ? legacy_logprobs(c.logprobs[i]) : json(nullptr);
      }
      choice["januskit"] = {{"seed", c.seed + i}, {"finish_reason", engine::stop_reason_name(row.reason)}};
      choices.push_back(choice);
    }
    json body = {{"id", c.id},
                 {"object", c.chat ? "chat.completion" : "text_completion"},
                 {"created", c.created},
                 {"model", c.model},
                 {"choices", choices},
                 {"usage", usage_json(c, out)}};
    if (vote) {
      auto [winner, votes] = pipelines::vote(answers);
      body["final_answer"] = winner ? json(*winner) : json(nullptr);
      body["agreement"] = {{"votes", votes}, {"samples", out.rows.size()}};
    }
    return body;
  }

  // --- Janus -------------------------------------------------------------------------------------
  void janus_chat(JanusService& service, ChatRequest& r, httplib::Response& res) {
    if (r.sampling.n != 1) throw bad_field("n", "Janus understanding answers with one choice");
    if (r.image) {
      auto& content = r.messages.at(r.image_message).content;
      content = std::string(pipelines::kImagePlaceholder) + "\n" + content;
    }
    auto picture = r.image ? std::make_shared<io::RgbImage>(io::decode_rgb(*r.image, "image_url")) : nullptr;
    pipelines::DescribeOptions o;
    if (r.sampling.max_tokens) o.max_tokens = *r.sampling.max_tokens;
    // Greedy unless asked otherwise, as the reference's README and `describe` do.
    if (r.sampling.temperature) o.sampling.temperature = *r.sampling.temperature;
    if (r.sampling.top_p) o.sampling.top_p = *r.sampling.top_p;
    if (r.sampling.top_k) o.sampling.top_k = *r.sampling.top_k;
    if (r.sampling.min_p) o.sampling.min_p = *r.sampling.min_p;
    o.seed = r.sampling.seed.value_or(random_seed());
    auto call = std::make_shared<TextCall>();
    call->chat = true;
    call->model = service.id();
    call->id = request_id("chatcmpl-");
    call->created = unix_time();
    call->sampling = r.sampling;
    auto messages = std::make_shared<std::vector<text::Message>>(r.messages);
    auto result = std::make_shared<std::promise<pipelines::DescribeResult>>();
    auto events = r.sampling.stream ? std::make_shared<EventQueue>() : nullptr;
    auto work = [call, messages, picture, o, result, events](pipelines::JanusBundle& b) {
      std::function<void(std::string_view)> on_text;
      if (events) {
        on_text = [&](std::string_view t) {
          if (call->cancelled->load()) throw Error("the client went away");
          events->push(sse(delta_chunk(*call, 0, {"", std::string(t)}, nullptr)));
        };
      }
      pipelines::DescribeResult d = pipelines::describe_conversation(b, *messages, picture.get(), o, on_text);
      if (events) {
        json last = chunk_base(*call);
        last["choices"] = json::array({{{"index", 0}, {"delta", json::object()}, {"logprobs", nullptr},
                                        {"finish_reason", d.finish_reason == "length" ? "length" : "stop"}}});
        events->push(sse(last));
        events->push("data: [DONE]\n\n");
        events->close();
      } else {
        result->set_value(std::move(d));
      }
    };
    auto failed = [result, events](const std::string& message) {
      if (events) {
        events->push(sse(ApiError(500, message, "", "generation_failed").to_json()));
        events->close();
      } else {
        result->set_exception(std::make_exception_ptr(ApiError(500, message, "", "generation_failed")));
      }
    };
    std::future<pipelines::DescribeResult> done = result->get_future();
    service.submit_work(work, failed);
    if (events) {
      json first = chunk_base(*call);
      first["choices"] = json::array({{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}});
      events->push(sse(first));
      stream_events(res, events, call->cancelled);
      return;
    }
    pipelines::DescribeResult d = done.get();
    const auto prompt = static_cast<int64_t>(d.prompt_ids.size()), completion = static_cast<int64_t>(d.output_ids.size());
    send_json(res, 200,
              {{"id", call->id},
               {"object", "chat.completion"},
               {"created", call->created},
               {"model", call->model},
               {"choices", json::array({{{"index", 0},
                                         {"message", {{"role", "assistant"}, {"content", d.content}}},
                                         {"logprobs", nullptr},
                                         {"finish_reason", d.finish_reason == "length" ? "length" : "stop"},
                                         {"januskit", {{"seed", d.seed}, {"finish_reason", d.finish_reason}}}}})},
               {"usage", {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}}}});
  }

  void images(const httplib::Request& req, httplib::Response& res) {
    ImageRequest r = parse_image_request(parse_body(req));
    JanusService* service = find_janus(r.model);
    if (service == nullptr) throw unknown_model(r.model, "Janus");
    const int64_t side = service->info().size;
    if (r.size && *r.size != side) {
      throw bad_field("size", cat(service->id(), " draws ", side, "x", side, " only (its native size); got ", *r.size, "x", *r.size));
    }
    if (r.response_format == "url" && options.image_dir.empty()) {
      throw bad_field("response_format", "\"url\" needs a server started with --image-dir; use \"b64_json\"");
    }
    service->check_prompt(r.prompt);
    pipelines::ImageSettingsOverride over{r.cfg, r.temperature, r.top_k};
    const pipelines::ImageSettings settings = over.over(service->default_settings());
    const uint64_t seed = r.seed.value_or(random_seed());
    const std::string id = request_id("img-");
    ImageTask task;
    for (int64_t i = 0; i < r.n; ++i) {
      pipelines::ImageJob job;
      job.prompt = r.prompt;
      job.seed = seed + static_cast<uint64_t>(i);
      job.settings = settings;
      task.jobs.push_back(job);
    }
    auto result = std::make_shared<std::promise<std::vector<pipelines::RenderedImage>>>();
    task.done = [result](std::vector<pipelines::RenderedImage> images) { result->set_value(std::move(images)); };
    task.failed = [result](const std::string& message) {
      result->set_exception(std::make_exception_ptr(ApiError(500, message, "", "generation_failed")));
    };
    std::future<std::vector<pipelines::RenderedImage>> done = result->get_future();
    std::vector<pipelines::ImageJob> jobs = task.jobs;
    service->submit_images(std::move(task));
    std::vector<pipelines::RenderedImage> rendered = done.get();
    json data = json::array();
    for (size_t i = 0; i < rendered.size(); ++i) {
      const auto& image = rendered[i];
      const std::string png = io::encode_png(image.pixels.pixels.data(), image.pixels.width, image.pixels.height,
                                             {{"parameters", service->parameters(jobs[i])}});
      json item = {{"revised_prompt", r.prompt}, {"seed", jobs[i].seed}};
      if (r.response_format == "url") {
        const std::string name = cat(id, "-", i + 1, ".png");
        io::write_png(options.image_dir / name, image.pixels.pixels.data(), image.pixels.width, image.pixels.height,
                      {{"parameters", service->parameters(jobs[i])}});
        std::string host = req.get_header_value("Host");
        if (host.empty()) host = cat(options.host, ":", options.port);
        item["url"] = cat("http://", host, "/images/", name);
      } else {
        item["b64_json"] = base64_encode(png);
      }
      data.push_back(item);
    }
    send_json(res, 200, {{"created", unix_time()}, {"data", data}});
  }
};

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() = default;

void Server::listen(const std::function<void(int)>& on_listening) {
  Impl& s = *impl_;
  int port = s.options.port;
  if (port == 0) {
    port = s.http.bind_to_any_port(s.options.host);
    if (port < 0) throw Error(cat("cannot listen on ", s.options.host, ": no free port"));
  } else if (!s.http.bind_to_port(s.options.host, port)) {
    throw Error(cat("cannot listen on ", s.options.host, ":", port, " (in use, or not an address of this machine); pick another --port"));
  }
  s.options.port = port;
  if (on_listening) on_listening(port);
  s.http.listen_after_bind();
}

void Server::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  s.stop_models();  // running requests end with an error event or response
  s.http.stop();
}

}  // namespace januskit::serve
