#include "serve/model_services.hpp"

#include "core/error.hpp"
#include "core/log.hpp"

namespace januskit::serve {

TextService::TextService(const pipelines::ModelRequest& request, const std::string& chat_format, int64_t max_batch,
                         int64_t context)
    : model_(pipelines::load_text_model(request)) {
  text::DetectedFormat detected = pipelines::choose_chat_format(model_, chat_format);
  format_ = detected.format;
  log::info(model_.name, ": chat format ", text::chat_format_name(format_), " (", detected.reason, ")");
  const int64_t ctx = context > 0 ? std::min(context, model_.model->max_positions()) : model_.model->max_positions();
  scheduler_ = std::make_unique<engine::RequestScheduler>(*model_.model, &model_.tokenizer, max_batch, ctx);
  thread_ = std::thread([this] { scheduler_->run(); });
}

TextService::~TextService() { stop(); }

void TextService::stop() {
  scheduler_->stop();
  if (thread_.joinable()) thread_.join();
}

JanusService::JanusService(const pipelines::ModelRequest& request, int64_t max_batch)
    : renderer_(std::make_unique<pipelines::ImageRenderer>(request, pipelines::RendererUses{.understanding = true})),
      defaults_(pipelines::default_image_settings(request)), max_batch_(max_batch) {
  thread_ = std::thread([this] { loop(); });
}

JanusService::~JanusService() { stop(); }

void JanusService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void JanusService::submit_images(ImageTask task) {
  std::lock_guard lock(mutex_);
  if (stopping_) throw Error("the server is shutting down");
  images_.push_back(std::move(task));
  wake_.notify_all();
}

void JanusService::submit_work(std::function<void(pipelines::JanusBundle&)> work,
                               std::function<void(const std::string&)> failed) {
  std::lock_guard lock(mutex_);
  if (stopping_) throw Error("the server is shutting down");
  work_.push_back({std::move(work), std::move(failed)});
  wake_.notify_all();
}

int64_t JanusService::queued() const {
  std::lock_guard lock(mutex_);
  return static_cast<int64_t>(images_.size() + work_.size());
}

// All queued image requests in one render: images with equal settings share batches of at most
// max_batch, whichever client asked for them (each image keeps its own seed, so its pixels do not
// depend on its neighbours up to floating-point summation order).
void JanusService::render(std::vector<ImageTask>& tasks) {
  std::vector<pipelines::ImageJob> jobs;
  std::vector<size_t> first;  // tasks[t]'s jobs start at jobs[first[t]]
  for (auto& t : tasks) {
    first.push_back(jobs.size());
    jobs.insert(jobs.end(), t.jobs.begin(), t.jobs.end());
  }
  std::vector<pipelines::ImageSettings> settings;
  for (const auto& j : jobs) settings.push_back(j.settings);
  std::vector<pipelines::RenderedImage> images(jobs.size());
  pipelines::RenderCallbacks callbacks;
  callbacks.on_image = [&](const pipelines::RenderedImage& image) { images[image.job] = image; };
  renderer_->render(jobs, renderer_->fit_to_memory(jobs, pipelines::plan_batches(settings, max_batch_)), callbacks);
  for (size_t t = 0; t < tasks.size(); ++t) {
    std::vector<pipelines::RenderedImage> mine(images.begin() + static_cast<std::ptrdiff_t>(first[t]),
                                               images.begin() + static_cast<std::ptrdiff_t>(first[t] + tasks[t].jobs.size()));
    for (auto& m : mine) m.job -= first[t];
    if (tasks[t].done) tasks[t].done(std::move(mine));
  }
}

void JanusService::loop() {
  while (true) {
    std::vector<ImageTask> tasks;
    std::optional<Work> work;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !images_.empty() || !work_.empty(); });
      if (stopping_) break;
      // Image requests first, all of them together; then one understanding request.
      if (!images_.empty()) {
        while (!images_.empty()) {
          tasks.push_back(std::move(images_.front()));
          images_.pop_front();
        }
      } else {
        work = std::move(work_.front());
        work_.pop_front();
      }
    }
    try {
      if (!tasks.empty()) render(tasks);
      if (work) work->run(renderer_->bundle());
    } catch (const std::exception& e) {
      log::warn(id(), ": request failed: ", e.what());
      for (auto& t : tasks) {
        if (t.failed) t.failed(e.what());
      }
      if (work && work->failed) work->failed(e.what());
    }
  }
  std::deque<ImageTask> images;
  std::deque<Work> work;
  {
    std::lock_guard lock(mutex_);
    images.swap(images_);
    work.swap(work_);
  }
  for (auto& t : images) {
    if (t.failed) t.failed("the server is shutting down");
  }
  for (auto& w : work) {
    if (w.failed) w.failed("the server is shutting down");
  }
}

}  // namespace januskit::serve
