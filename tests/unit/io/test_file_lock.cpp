// Locks between processes sharing a folder: exclusive and shared modes, deletion of the lock file
// while others wait, and release when the holder is killed.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "io/file_lock.hpp"
#include "io_test_util.hpp"

using namespace januskit;
using namespace januskit::io;
using januskit::test::TempDir;

// flock belongs to an open file description, so two acquisitions in one process conflict like two
// processes would.
TEST(FileLock, ExclusiveExcludesEverythingSharedExcludesExclusive) {
  TempDir dir;
  const auto path = dir / "l.lock";
  {
    auto ex = FileLock::acquire(path, LockMode::exclusive, false);
    ASSERT_TRUE(ex);
    EXPECT_FALSE(FileLock::acquire(path, LockMode::exclusive, false));
    EXPECT_FALSE(FileLock::acquire(path, LockMode::shared, false));
  }
  auto a = FileLock::acquire(path, LockMode::shared, false);
  auto b = FileLock::acquire(path, LockMode::shared, false);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(FileLock::acquire(path, LockMode::exclusive, false));
  a.reset();
  EXPECT_FALSE(FileLock::acquire(path, LockMode::exclusive, false));
  b.reset();
  EXPECT_TRUE(FileLock::acquire(path, LockMode::exclusive, false));
}

TEST(FileLock, RemovedWhileAnotherWaitsTheWaiterLocksAFreshFile) {
  TempDir dir;
  const auto path = dir / "l.lock";
  auto holder = FileLock::acquire(path, LockMode::exclusive, false);
  ASSERT_TRUE(holder);
  std::atomic<bool> got{false};
  bool path_existed_when_locked = false;
  std::thread waiter([&] {
    auto lock = FileLock::acquire(path, LockMode::exclusive, /*wait=*/true);
    path_existed_when_locked = std::filesystem::exists(path);
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(got);
  holder->remove_file();
  EXPECT_FALSE(std::filesystem::exists(path));
  holder.reset();
  waiter.join();
  EXPECT_TRUE(got);
  // It holds the file that is there now, not the deleted one: a newcomer is excluded.
  EXPECT_TRUE(path_existed_when_locked);
}

TEST(FileLock, AKilledHolderReleasesTheLock) {
  TempDir dir;
  const auto path = dir / "l.lock";
  const std::string name = path.string();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only system calls in the child of a multi-threaded process.
    int fd = ::open(name.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
    char c = 'x';
    if (::write(ready[1], &c, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_FALSE(FileLock::acquire(path, LockMode::shared, false));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  EXPECT_TRUE(FileLock::acquire(path, LockMode::exclusive, false));
}

TEST(FileLock, UncreatableFileIsAFileError) {
  januskit::test::expect_error([] { FileLock::acquire("/nonexistent-folder/x.lock", LockMode::shared, false); },
                               {"/nonexistent-folder/x.lock", "cannot create lock file"});
}
