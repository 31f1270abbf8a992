// The request scheduler (continuous batching): every request's tokens equal what TextGenerator
// gives it alone, whatever joins, leaves or moves in the shared cache meanwhile.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "../../decode_test_util.hpp"
#include "core/error.hpp"
#include "engine/request_scheduler.hpp"
#include "engine/text_generator.hpp"

namespace januskit::engine {
namespace {

std::vector<int32_t> prompt_of(int64_t length, int32_t salt) {
  std::vector<int32_t> p;
  for (int64_t i = 0; i < length; ++i) p.push_back(static_cast<int32_t>((salt * 31 + i * 7) % 97));
  return p;
}

GenerationOptions sampled(int64_t max_new, uint64_t seed) {
  GenerationOptions o;
  o.max_new_tokens = max_new;
  o.sampling.temperature = 0.9;
  o.sampling.top_p = 0.95;
  o.sampling.seed = seed;
  o.eos_ids = {3};
  return o;
}

// A scheduler on its own thread, and a helper that runs requests through it.
class Served {
 public:
  Served(LanguageModel& m, int64_t max_batch, int64_t capacity) : scheduler_(m, nullptr, max_batch, capacity) {
    thread_ = std::thread([this] { scheduler_.run(); });
  }
  ~Served() {
    scheduler_.stop();
    thread_.join();
  }
  RequestScheduler& scheduler() { return scheduler_; }

  std::future<GenerationResult> submit(std::vector<int32_t> prompt, GenerationOptions options, int64_t choices = 1,
                                       std::function<bool()> cancelled = {}) {
    auto promise = std::make_shared<std::promise<GenerationResult>>();
    ScheduledRequest r;
    r.prompt = std::move(prompt);
    r.options = std::move(options);
    r.choices = choices;
    r.on_done = [promise](GenerationResult g) { promise->set_value(std::move(g)); };
    r.on_error = [promise](const std::string& m) { promise->set_exception(std::make_exception_ptr(Error(m))); };
    r.cancelled = std::move(cancelled);
    scheduler_.submit(std::move(r));
    return promise->get_future();
  }

 private:
  RequestScheduler scheduler_;
  std::thread thread_;
};

class RequestSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { model_ = test::random_llama({.qwen2 = true, .max_positions = 512}); }

  std::vector<int32_t> alone(const std::vector<int32_t>& prompt, const GenerationOptions& o, int64_t choices = 1, int64_t row = 0) {
    TextGenerator g(*model_);
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(choices), prompt);
    return g.generate(prompts, o).rows[static_cast<size_t>(row)].tokens;
  }

  std::unique_ptr<models::LlamaModel> model_;
};

TEST_F(RequestSchedulerTest, ConcurrentRequestsGiveTheirTokensAlone) {
  Served served(*model_, 6, 256);
  // Different prompt lengths (a longer newcomer moves the running rows), budgets and seeds, submitted
  // from several threads at once.
  struct Case {
    int64_t prompt, budget;
    uint64_t seed;
  };
  const std::vector<Case> cases = {{5, 40, 1}, {17, 12, 2}, {3, 60, 3}, {29, 25, 4}, {11, 33, 5},
                                   {8, 7, 6},  {23, 44, 7}, {2, 18, 8}, {14, 50, 9}, {31, 9, 10}};
  std::vector<std::future<GenerationResult>> futures(cases.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < cases.size(); ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(3 * static_cast<int>(i)));
      futures[i] = served.submit(prompt_of(cases[i].prompt, static_cast<int32_t>(i)), sampled(cases[i].budget, cases[i].seed));
    });
  }
  for (auto& c : clients) c.join();
  for (size_t i = 0; i < cases.size(); ++i) {
    GenerationResult got = futures[i].get();
    ASSERT_EQ(got.rows.size(), 1u);
    EXPECT_EQ(got.rows[0].tokens, alone(prompt_of(cases[i].prompt, static_cast<int32_t>(i)), sampled(cases[i].budget, cases[i].seed)))
        << "request " << i;
  }
}

TEST_F(RequestSchedulerTest, ChoicesDrawLikeSamplesOfOnePrompt) {
  Served served(*model_, 8, 200);
  const auto prompt = prompt_of(9, 4);
  auto other = served.submit(prompt_of(20, 1), sampled(30, 77));
  GenerationResult got = served.submit(prompt, sampled(24, 100), 3).get();
  ASSERT_EQ(got.rows.size(), 3u);
  for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(got.rows[static_cast<size_t>(c)].tokens, alone(prompt, sampled(24, 100), 3, c)) << c;
  EXPECT_EQ(other.get().rows[0].tokens, alone(prompt_of(20, 1), sampled(30, 77)));
}

TEST_F(RequestSchedulerTest, SmallCacheCompactsOrWaitsAndStaysExact) {
  // 64 slots for requests that together need far more: rows move to the front, newcomers wait.
  Served served(*model_, 4, 64);
  std::vector<std::future<GenerationResult>> futures;
  for (int i = 0; i < 8; ++i) futures.push_back(served.submit(prompt_of(6 + i, i), sampled(30 + i, 50 + i)));
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(futures[static_cast<size_t>(i)].get().rows[0].tokens, alone(prompt_of(6 + i, i), sampled(30 + i, 50 + i))) << i;
  }
}

TEST_F(RequestSchedulerTest, BudgetIsCappedByTheCacheAndBadRequestsAreRefused) {
  Served served(*model_, 2, 40);
  GenerationOptions o = sampled(1000, 1);
  o.eos_ids.clear();
  GenerationResult got = served.submit(prompt_of(10, 1), o).get();
  EXPECT_EQ(got.rows[0].tokens.size(), 30u);
  EXPECT_EQ(got.rows[0].reason, StopReason::max_tokens);
  EXPECT_THROW(served.submit(prompt_of(40, 1), o), Error);   // no room for a single new token
  EXPECT_THROW(served.submit({}, o), Error);
  EXPECT_THROW(served.submit(prompt_of(4, 1), o, 3), Error);  // more choices than rows
  EXPECT_THROW(served.submit({1000}, o), Error);              // outside the vocabulary
}

TEST_F(RequestSchedulerTest, CancelledRequestFreesItsRow) {
  Served served(*model_, 1, 300);
  std::atomic<bool> gone{false};
  GenerationOptions endless = sampled(250, 1);
  endless.eos_ids.clear();
  auto first = served.submit(prompt_of(5, 1), endless, 1, [&] { return gone.load(); });
  auto second = served.submit(prompt_of(7, 2), sampled(20, 2));  // waits: one row only
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  gone = true;
  EXPECT_LT(first.get().rows[0].tokens.size(), 250u);
  EXPECT_EQ(second.get().rows[0].tokens, alone(prompt_of(7, 2), sampled(20, 2)));
}

TEST_F(RequestSchedulerTest, StopFailsWhatIsLeft) {
  auto served = std::make_unique<Served>(*model_, 1, 510);
  GenerationOptions endless = sampled(500, 1);
  endless.eos_ids.clear();
  auto running = served->submit(prompt_of(5, 1), endless);
  auto waiting = served->submit(prompt_of(5, 2), endless);
  served.reset();
  EXPECT_THROW(running.get(), Error);
  EXPECT_THROW(waiting.get(), Error);
}

}  // namespace
}  // namespace januskit::engine
