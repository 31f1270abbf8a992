// The loaded models of a server, each with the thread that owns it.
//
// A text model runs an engine::RequestScheduler: every chat or completion request to it joins one
// decode batch. A Janus model runs a worker that takes, whenever it is free, all queued image
// requests at once and renders them in shared batches (as `gallery` does: images with equal
// settings share a batch), and runs understanding requests one at a time between them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/request_scheduler.hpp"
#include "pipelines/image_renderer.hpp"
#include "pipelines/text_model.hpp"
#include "text/chat_format.hpp"

namespace januskit::serve {

class TextService {
 public:
  // Loads the model; `chat_format` is "auto" (detected from the folder, as `ask` does) or a name.
  TextService(const pipelines::ModelRequest& request, const std::string& chat_format, int64_t max_batch, int64_t context);
  ~TextService();
  TextService(const TextService&) = delete;
  TextService& operator=(const TextService&) = delete;

  const std::string& id() const { return model_.name; }
  pipelines::TextModel& model() { return model_; }
  text::ChatFormat format() const { return format_; }
  int64_t context() const { return scheduler_->capacity(); }
  int64_t max_batch() const { return scheduler_->max_batch(); }
  engine::RequestScheduler::Load load() const { return scheduler_->load(); }

  void submit(engine::ScheduledRequest request) { scheduler_->submit(std::move(request)); }
  // Running and queued requests get on_error; the thread ends.
  void stop();

 private:
  pipelines::TextModel model_;
  text::ChatFormat format_;
  std::unique_ptr<engine::RequestScheduler> scheduler_;
  std::thread thread_;
};

// One image request: its jobs (one per image) and what to do with the rendered pictures.
struct ImageTask {
  std::vector<pipelines::ImageJob> jobs;
  std::function<void(std::vector<pipelines::RenderedImage>)> done;  // in job order
  std::function<void(const std::string&)> failed;
};

class JanusService {
 public:
  JanusService(const pipelines::ModelRequest& request, int64_t max_batch);
  ~JanusService();
  JanusService(const JanusService&) = delete;
  JanusService& operator=(const JanusService&) = delete;

  const std::string& id() const { return renderer_->model_info().name; }
  const pipelines::ImageModelInfo& info() const { return renderer_->model_info(); }
  const pipelines::ImageSettings& default_settings() const { return defaults_; }
  std::string parameters(const pipelines::ImageJob& job) const { return renderer_->parameters(job); }
  // Error when the prompt and the image tokens do not fit the model's context.
  void check_prompt(const std::string& prompt) const { renderer_->check_prompt(prompt); }

  void submit_images(ImageTask task);
  // Understanding: runs on the worker with the loaded model; exceptions go to `failed`.
  void submit_work(std::function<void(pipelines::JanusBundle&)> work, std::function<void(const std::string&)> failed);
  int64_t queued() const;
  void stop();

 private:
  struct Work {
    std::function<void(pipelines::JanusBundle&)> run;
    std::function<void(const std::string&)> failed;
  };
  void loop();
  void render(std::vector<ImageTask>& tasks);

  std::unique_ptr<pipelines::ImageRenderer> renderer_;
  pipelines::ImageSettings defaults_;
  int64_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<ImageTask> images_;
  std::deque<Work> work_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace januskit::serve
