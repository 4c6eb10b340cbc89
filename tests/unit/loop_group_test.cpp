// LoopGroup start/stop/join handshakes.
#include "reactor/loop_group.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "tests/support/net.h"
#include "tests/support/process.h"

namespace {

// Runs `body` in a forked child (so a deadlock cannot hang the test binary) and waits for it
// at most timeout_ms. Returns the wait status, or -1 when the child had to be killed.
int run_in_child(const std::function<int()>& body, int timeout_ms) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  uint64_t deadline = rt::now_ms() + static_cast<uint64_t>(timeout_ms);
  for (;;) {
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) return st;
    if (rt::now_ms() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    rt::sleep_ms(10);
  }
}

// Waits until every loop has run a posted task, i.e. is inside run().
bool all_loops_running(reactor::LoopGroup& g) {
  std::atomic<size_t> ran{0};
  for (size_t i = 0; i < g.size(); ++i) g.loop(i).post([&ran](reactor::EventLoop&) { ++ran; });
  return rt::wait_until([&] { return ran.load() == g.size(); }, 10000);
}

// stop() + join() right after start() must return even when a loop thread has not yet woken
// up from start()'s "go" handshake: join() must not wipe out the signal that thread waits for.
TEST(LoopGroup, StopAndJoinRightAfterStartNeverDeadlock) {
  int st = run_in_child(
      [] {
        for (int i = 0; i < 1000; ++i) {
          reactor::LoopGroup group;
          reactor::LoopGroup::Options o;
          o.threads = 4;
          o.loop.backend = reactor::BackendKind::kEpoll;
          std::string error;
          if (!group.start(
                  o, [](reactor::EventLoop&, int) {}, &error))
            return 3;
          group.stop();
          group.join();
          if (group.running() != 0) return 4;
        }
        return 0;
      },
      30000);
  ASSERT_NE(st, -1) << "LoopGroup::join() deadlocked after an immediate stop()";
  ASSERT_TRUE(WIFEXITED(st)) << rt::describe_status(st);
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(LoopGroup, StartRunsInitOnEveryLoopThread) {
  reactor::LoopGroup group;
  reactor::LoopGroup::Options o;
  o.threads = 3;
  o.loop.backend = reactor::BackendKind::kEpoll;
  std::atomic<int> mask{0};
  std::string error;
  ASSERT_TRUE(group.start(
      o, [&](reactor::EventLoop&, int index) { mask.fetch_or(1 << index); }, &error))
      << error;
  EXPECT_EQ(mask.load(), 0b111);
  EXPECT_EQ(group.size(), 3u);
  EXPECT_EQ(group.running(), 3);
  EXPECT_STREQ(group.backend_name(), "epoll");
  ASSERT_TRUE(all_loops_running(group));
  group.stop();
  group.join();
  EXPECT_EQ(group.running(), 0);
}

TEST(LoopGroup, InitFailureFailsStartAndStopsEveryLoop) {
  reactor::LoopGroup group;
  reactor::LoopGroup::Options o;
  o.threads = 3;
  o.loop.backend = reactor::BackendKind::kEpoll;
  std::string error;
  EXPECT_FALSE(group.start(
      o,
      [](reactor::EventLoop&, int index) {
        if (index == 1) throw std::runtime_error("loop 1 says no");
      },
      &error));
  EXPECT_NE(error.find("loop 1 says no"), std::string::npos) << error;
  EXPECT_EQ(group.running(), 0);
}

TEST(LoopGroup, PostedTasksRunOnTheLoop) {
  reactor::LoopGroup group;
  reactor::LoopGroup::Options o;
  o.threads = 2;
  o.loop.backend = reactor::BackendKind::kEpoll;
  std::string error;
  ASSERT_TRUE(group.start(
      o, [](reactor::EventLoop&, int) {}, &error))
      << error;
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) {
    group.loop(i % 2).post([&ran](reactor::EventLoop& l) {
      l.assert_in_loop_thread();
      ran.fetch_add(1);
    });
  }
  EXPECT_TRUE(rt::wait_until([&] { return ran.load() == 100; }, 10000));
  EXPECT_EQ(ran.load(), 100);
  ASSERT_TRUE(all_loops_running(group));
  group.stop();
  group.join();
}

}  // namespace
