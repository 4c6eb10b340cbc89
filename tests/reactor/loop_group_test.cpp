// LoopGroup start/stop/join handshakes, and the cross-loop reads of a /metrics scrape (run
// under ThreadSanitizer in CI: the scrape tests race a sibling loop's drain and exit).
#include "reactor/loop_group.h"
#include "reactor/admission.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <vector>

#include "reactor/listener.h"
#include "server/http_service/metrics.h"
#include "server/protocols/echo.h"
#include "server/server.h"
#include "tests/support/backends.h"
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

// A ServerState whose group runs `threads` loops, each with its own loopback TCP listener
// serving echo, the way server.cpp wires them; /metrics is rendered against it.
class ScrapeRace : public testing::TestWithParam<reactor::BackendKind> {
 protected:
  void SetUp() override {
    if (GetParam() == reactor::BackendKind::kIoUring && !reactor::io_uring_compiled_in())
      GTEST_SKIP() << "io_uring backend not compiled in";
    reactor::LoopGroup::Options o;
    o.threads = 2;
    o.loop.backend = GetParam();
    std::string error;
    bool ok = st_.group.start(
        o,
        [this](reactor::EventLoop& loop, int) {
          reactor::ListenOptions lo;
          int err = 0;
          std::string why;
          int fd = reactor::open_listen_socket(rt::loopback4(0), lo, &err, &why);
          if (fd < 0) throw std::runtime_error("listen: " + why);
          loop.add_listener(fd, &echo_, "echo");
        },
        &error);
    if (!ok && GetParam() == reactor::BackendKind::kIoUring && rt::says_io_uring_unavailable(error))
      GTEST_SKIP() << error;
    ASSERT_TRUE(ok) << error;
    started_ = true;
  }
  void TearDown() override {
    if (!started_) return;
    st_.group.stop();
    st_.group.join();
  }
  static bool scrape_has(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
  }

  reactord::EchoHandler echo_;  // outlives the loops (declared before st_)
  reactord::ServerState st_;
  bool started_ = false;
};

// /metrics on loop 0 reads loop 1's listener fd (TCP_INFO accept-queue depth) while loop 1's
// drain closes that listener. The fd must be read and closed under the listener's lock, or
// ThreadSanitizer reports the race (and a reused descriptor number could be queried).
TEST_P(ScrapeRace, ScrapeWhileSiblingDrainClosesItsListener) {
  if (!started_) return;
  std::atomic<bool> drained{false};
  std::atomic<bool> scraping{false};
  std::atomic<int> without_loop1{0}, loop0_missing{0}, closed_but_shown{0};
  std::atomic<bool> finished{false};
  st_.group.loop(0).post([&](reactor::EventLoop&) {
    std::string out;
    scraping = true;
    // Scrape until loop 1 has closed its listener, then a few more times.
    for (int after = 0; after < 20;) {
      bool closed_before = drained.load();
      st_.render(out);  // what /metrics runs
      if (!scrape_has(out, "reactord_listener_accept_queue{loop=\"0\"")) ++loop0_missing;
      if (!scrape_has(out, "reactord_listener_accept_queue{loop=\"1\"")) {
        ++without_loop1;
      } else if (closed_before) {
        ++closed_but_shown;
      }
      if (closed_before) ++after;
    }
    finished = true;
  });
  ASSERT_TRUE(rt::wait_until([&] { return scraping.load(); }, 10000));
  st_.group.loop(1).post([&](reactor::EventLoop& l) {
    l.begin_drain(60000);
    drained = true;
  });
  ASSERT_TRUE(rt::wait_until([&] { return finished.load(); }, 60000));
  EXPECT_EQ(loop0_missing.load(), 0) << "scrapes that lost loop 0's (open) listener";
  EXPECT_EQ(closed_but_shown.load(), 0) << "scrapes that showed loop 1's closed listener";
  EXPECT_GE(without_loop1.load(), 20) << "scrapes after loop 1 closed its listener";
}

// stop() + join() while loop 0 is still in the middle of scrapes that read loop 1: loop 1
// leaves run() first, but it must not be destroyed until loop 0 has left run() too.
TEST_P(ScrapeRace, JoinKeepsEveryLoopAliveUntilAllLeftRun) {
  if (!started_) return;
  std::atomic<bool> scraping{false};
  std::atomic<int> scrapes_with_loop1{0};
  reactor::LoopGroup& g = st_.group;
  g.loop(0).post([&](reactor::EventLoop&) {
    std::string out;
    scraping = true;
    // Keep scraping after loop 1 has left run() (running() drops to 1): these reads overlap
    // loop 1's destruction unless join() waits for every loop.
    for (int after = 0; after < 50;) {
      bool loop1_gone = g.running() < 2;
      st_.render(out);  // what /metrics runs
      if (scrape_has(out, "reactord_connections_active{loop=\"1\"} 0")) ++scrapes_with_loop1;
      if (loop1_gone) ++after;
    }
  });
  ASSERT_TRUE(rt::wait_until([&] { return scraping.load(); }, 10000));
  g.stop();
  g.join();
  started_ = false;
  EXPECT_EQ(g.running(), 0);
  EXPECT_GE(scrapes_with_loop1.load(), 50);
}

INSTANTIATE_TEST_SUITE_P(Backends, ScrapeRace, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

// Echo that marks every connection reclaimable (idle between requests) when `mark` is set.
class MarkingEcho final : public reactor::ConnectionHandler {
 public:
  explicit MarkingEcho(bool mark) : mark_(mark) {}
  void on_open(reactor::Connection& c) override { c.set_reclaimable(mark_); }
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override { c.send(std::move(data)); }

 private:
  bool mark_;
};

// --max-conns across loops: loop 0 is at the limit with no idle connection of its own, loop 1
// holds idle reclaimable ones, so each newcomer on loop 0 is admitted by closing one of loop
// 1's. This is the cross-loop path (sibling pointers, counters and posts between loops) that
// the ThreadSanitizer stage exercises; it asserts only what any admission scheme must give.
class CrossLoopReclaim : public testing::TestWithParam<reactor::BackendKind> {};

TEST_P(CrossLoopReclaim, NewcomerOnFullLoopReclaimsSiblingsIdleConnection) {
  if (GetParam() == reactor::BackendKind::kIoUring && !reactor::io_uring_compiled_in())
    GTEST_SKIP() << "io_uring backend not compiled in";
  constexpr int kIdle = 3;
  MarkingEcho keep(false), idle(true);  // loop 0's newcomers, loop 1's idle connections
  std::atomic<int64_t> open{0};
  reactor::Admission admission(&open);  // outlives the loops
  reactor::SocketAddress addr[2];
  reactor::LoopGroup group;
  reactor::LoopGroup::Options o;
  o.threads = 2;
  o.loop.backend = GetParam();
  o.loop.open_connections = &open;
  o.loop.admission = &admission;
  o.loop.max_conns = kIdle;
  std::string error;
  bool ok = group.start(
      o,
      [&](reactor::EventLoop& loop, int index) {
        reactor::ListenOptions lo;
        int err = 0;
        std::string why;
        int fd = reactor::open_listen_socket(rt::loopback4(0), lo, &err, &why);
        if (fd < 0) throw std::runtime_error("listen: " + why);
        addr[index] = reactor::bound_address(fd);
        loop.add_listener(fd, index == 0 ? static_cast<reactor::ConnectionHandler*>(&keep) : &idle,
                          "echo");
      },
      &error);
  if (!ok && GetParam() == reactor::BackendKind::kIoUring && rt::says_io_uring_unavailable(error))
    GTEST_SKIP() << error;
  ASSERT_TRUE(ok) << error;

  auto connect_and_echo = [](const reactor::SocketAddress& a, rt::Fd* out) {
    std::string err;
    rt::Fd fd = rt::connect_to(a, 10000, &err);
    if (!fd) return "connect: " + err;
    rt::ExchangeResult r = rt::exchange(fd.get(), "ping", 4, 10000);
    if (!r.ok || r.received != "ping") return "echo: " + r.error;
    *out = std::move(fd);
    return std::string();
  };
  rt::Fd idle_fds[kIdle];
  for (auto& fd : idle_fds) ASSERT_EQ(connect_and_echo(addr[1], &fd), "");
  ASSERT_TRUE(
      rt::wait_until([&] { return group.loop(1).stats().reclaimable.get() == kIdle; }, 10000));
  rt::Fd newcomers[kIdle];
  for (auto& fd : newcomers) ASSERT_EQ(connect_and_echo(addr[0], &fd), "");
  // Every idle connection on loop 1 was closed to admit them.
  for (auto& fd : idle_fds) {
    rt::RecvResult r = rt::recv_until_eof(fd.get(), 10000);
    EXPECT_EQ(r.end, rt::RecvEnd::kEof) << rt::recv_end_name(r.end);
  }
  EXPECT_TRUE(
      rt::wait_until([&] { return group.loop(1).stats().reclaimed.get() == kIdle; }, 10000));
  EXPECT_EQ(group.loop(0).stats().rejected_max_conns.get(), 0u);
  for (auto& fd : newcomers) {
    rt::ExchangeResult r = rt::exchange(fd.get(), "still", 5, 10000);
    EXPECT_TRUE(r.ok && r.received == "still") << r.error;
  }
  group.stop();
  group.join();
}

INSTANTIATE_TEST_SUITE_P(Backends, CrossLoopReclaim, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
