// Real loopback traffic against an in-process server (LoopGroup of 2 loops + EchoHandler /
// UpperHandler, wired like server/server.cpp), once per backend.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/src/completion_tag.h"
#include "tests/support/backends.h"
#include "tests/support/inprocess_server.h"
#include "tests/support/net.h"
#include "tests/support/payload.h"
#include "tests/support/reset_storm.h"

namespace {

using reactor::BackendKind;
using reactor::LoopStats;

constexpr size_t kSizes[] = {1,     2,     3,     100,   1000,  4095,    4096,    4097,
                             16383, 16384, 16385, 65535, 65536, 100'000, 262'144, 1 << 20};

class InProcess : public testing::TestWithParam<BackendKind> {
 protected:
  void start(reactor::LoopConfig loop = {}) {
    cfg_.backend = GetParam();
    cfg_.loop = loop;
    auto r = server_.start(cfg_);
    skipped_ = r.kind == rt::InProcessServer::Start::kSkip;
    ASSERT_NE(r.kind, rt::InProcessServer::Start::kFail) << r.message;
    skip_reason_ = r.message;
  }
  rt::InProcessServer server_;
  rt::InProcessServer::Config cfg_;
  bool skipped_ = false;
  std::string skip_reason_;
};

#define START_OR_SKIP(...)                      \
  do {                                          \
    start(__VA_ARGS__);                         \
    if (HasFatalFailure()) return;              \
    if (skipped_) GTEST_SKIP() << skip_reason_; \
  } while (0)

TEST_P(InProcess, EchoAndUpperByteExactAcrossSizes) {
  START_OR_SKIP();
  for (const char* proto : {"echo", "upper"}) {
    for (size_t size : kSizes) {
      SCOPED_TRACE(std::string(proto) + " size " + std::to_string(size));
      std::string payload = rt::random_bytes(size, size * 31 + 7);
      std::string expect = std::string(proto) == "upper" ? rt::upper_expected(payload) : payload;
      std::string err;
      rt::Fd fd = rt::connect_to(server_.address(proto), 10000, &err);
      ASSERT_TRUE(fd) << err;
      rt::ExchangeResult r = rt::exchange(fd.get(), payload, expect.size(), 30000);
      ASSERT_TRUE(r.ok) << r.error;
      ASSERT_EQ(r.received.size(), expect.size());
      EXPECT_TRUE(r.received == expect) << "reply differs";
    }
  }
}

TEST_P(InProcess, ManySizesOnOneConnection) {
  START_OR_SKIP();
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("upper"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  for (size_t size : kSizes) {
    std::string payload = rt::random_bytes(size, size + 1);
    rt::ExchangeResult r = rt::exchange(fd.get(), payload, size, 30000);
    ASSERT_TRUE(r.ok) << "size " << size << ": " << r.error;
    EXPECT_TRUE(r.received == rt::upper_expected(payload)) << "size " << size;
  }
}

TEST_P(InProcess, TwoThousandConcurrentConnections) {
  START_OR_SKIP();
  constexpr size_t kConns = 2000;
  rt::ConnectionSwarm swarm;
  std::string err;
  ASSERT_TRUE(swarm.run(
      server_.address("echo"), kConns,
      [](size_t i) { return "conn-" + std::to_string(i) + ":" + rt::random_bytes(i % 200, i); },
      rt::Transform::kIdentity, 60000, &err))
      << err;
  EXPECT_EQ(swarm.completed(), kConns);
  // Every connection was answered and none is closed yet: the server holds exactly all of them.
  EXPECT_EQ(server_.sum(&LoopStats::accepted), kConns);
  EXPECT_EQ(server_.sum(&LoopStats::active), kConns);
  swarm.close_all();
  EXPECT_TRUE(rt::wait_until([&] { return server_.sum(&LoopStats::active) == 0; }, 30000))
      << server_.sum(&LoopStats::active) << " still active";
  EXPECT_EQ(server_.sum(&LoopStats::closed), kConns);
}

TEST_P(InProcess, SixtyFourMiBThroughOneConnection) {
  START_OR_SKIP();
  constexpr uint64_t kTotal = 64ull << 20;
  for (const char* proto : {"echo", "upper"}) {
    SCOPED_TRACE(proto);
    std::string err;
    rt::Fd fd = rt::connect_to(server_.address(proto), 10000, &err);
    ASSERT_TRUE(fd) << err;
    rt::Transform t =
        std::string(proto) == "upper" ? rt::Transform::kUpper : rt::Transform::kIdentity;
    rt::StreamPump pump(fd.get(), kTotal, 64, t);
    ASSERT_TRUE(pump.run(120000)) << pump.error();
    EXPECT_EQ(pump.received(), kTotal);
    EXPECT_EQ(pump.first_mismatch(), -1);
    EXPECT_EQ(pump.received_checksum(), pump.expected_checksum());
    EXPECT_EQ(pump.received_checksum(), rt::pattern_checksum(rt::PatternStream(64), kTotal, t));
    ASSERT_TRUE(pump.finish_with_eof(10000)) << pump.error();
  }
}

TEST_P(InProcess, HalfCloseDeliversEverythingThenEof) {
  START_OR_SKIP();
  for (const char* proto : {"echo", "upper"}) {
    for (size_t size : {size_t{1}, size_t{16385}, size_t{1} << 20}) {
      SCOPED_TRACE(std::string(proto) + " size " + std::to_string(size));
      std::string payload = rt::random_bytes(size, size ^ 0x55);
      std::string expect = std::string(proto) == "upper" ? rt::upper_expected(payload) : payload;
      std::string err;
      rt::Fd fd = rt::connect_to(server_.address(proto), 10000, &err);
      ASSERT_TRUE(fd) << err;
      rt::ExchangeResult r = rt::exchange(fd.get(), payload, expect.size(), 30000,
                                          /*shut_wr=*/true, /*want_eof=*/true);
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_TRUE(r.eof);
      EXPECT_TRUE(r.received == expect);
      // Nothing after the EOF.
      rt::RecvResult after = rt::recv_until_eof(fd.get(), 1000);
      EXPECT_EQ(after.end, rt::RecvEnd::kEof);
      EXPECT_TRUE(after.data.empty());
    }
  }
  EXPECT_TRUE(rt::wait_until([&] { return server_.sum(&LoopStats::active) == 0; }, 10000));
}

TEST_P(InProcess, EmptyHalfCloseGetsEof) {
  START_OR_SKIP();
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  ::shutdown(fd.get(), SHUT_WR);
  rt::RecvResult r = rt::recv_until_eof(fd.get(), 10000);
  EXPECT_EQ(r.end, rt::RecvEnd::kEof) << rt::recv_end_name(r.end);
  EXPECT_TRUE(r.data.empty());
}

// Clients that reset (SO_LINGER {1,0} + close) while data is in flight must not disturb the
// concurrent transfers of others, nor leak server connections.
TEST_P(InProcess, ResettingClientsDoNotDisturbOthers) {
  START_OR_SKIP();
  const rt::ResetStorm storm;
  for (const std::string& failure :
       rt::run_reset_storm(storm, [&](const std::string& p) { return server_.address(p); }))
    ADD_FAILURE() << failure;
  // Still serving, byte-exact.
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("upper"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  std::string payload = rt::random_bytes(100'000, 3);
  rt::ExchangeResult r = rt::exchange(fd.get(), payload, payload.size(), 30000, true, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.received == rt::upper_expected(payload));
  fd.reset();
  // Every connection, reset or not, is gone from the server and its queues are empty.
  EXPECT_TRUE(rt::wait_until([&] { return server_.sum(&LoopStats::active) == 0; }, 20000))
      << server_.sum(&LoopStats::active) << " connections still open";
  EXPECT_EQ(server_.sum(&LoopStats::write_queue_bytes), 0u);
  EXPECT_EQ(server_.sum(&LoopStats::accepted),
            static_cast<uint64_t>(storm.good + storm.resetters + 1));
}

// A loop that has slept for a while (no timers armed: epoll_wait(-1)) must not treat a
// connection accepted on waking as idle since the loop went to sleep.
TEST_P(InProcess, IdleTimeoutCountsFromAcceptNotFromLoopSleep) {
  reactor::LoopConfig loop;
  loop.idle_timeout_ms = 2000;
  START_OR_SKIP(loop);
  rt::sleep_ms(3000);  // longer than the idle timeout, with nothing for the loops to do
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  ASSERT_TRUE(rt::send_all(fd.get(), "ping", 5000, &err)) << err;
  rt::RecvResult r = rt::recv_exact(fd.get(), 4, 10000);
  EXPECT_EQ(r.end, rt::RecvEnd::kCount)
      << "a fresh connection was closed at once (" << rt::recv_end_name(r.end)
      << "); idle_timeouts=" << server_.sum(&LoopStats::idle_timeouts);
  EXPECT_EQ(r.data, "ping");
  // Then, left idle, it is closed by the idle timeout.
  rt::RecvResult closed = rt::recv_until_eof(fd.get(), 10000);
  EXPECT_EQ(closed.end, rt::RecvEnd::kEof);
}

TEST_P(InProcess, IdleConnectionIsClosed) {
  reactor::LoopConfig loop;
  loop.idle_timeout_ms = 1000;
  START_OR_SKIP(loop);
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::ExchangeResult r = rt::exchange(fd.get(), "hello", 5, 10000);
  ASSERT_TRUE(r.ok) << r.error;
  rt::RecvResult closed = rt::recv_until_eof(fd.get(), 10000);
  EXPECT_EQ(closed.end, rt::RecvEnd::kEof) << rt::recv_end_name(closed.end);
  EXPECT_TRUE(closed.data.empty());
  EXPECT_TRUE(rt::wait_until([&] { return server_.sum(&LoopStats::idle_timeouts) == 1; }, 5000));
  EXPECT_EQ(server_.sum(&LoopStats::idle_timeouts), 1u);
}

// Runs `fn` on loop 0's thread and waits for it (loop state is not readable from here).
template <typename Fn>
bool on_loop0(rt::InProcessServer& server, Fn fn) {
  std::atomic<bool> done{false};
  server.group().loop(0).post([&](reactor::EventLoop& loop) {
    fn(loop);
    done.store(true);
  });
  return rt::wait_until([&] { return done.load(); }, 10000, 1);
}

// A peer that does not read gets its 8 KiB writes queued. Each arrives in a 16 KiB pool buffer;
// queued whole, they used to cost twice their size. Bytes that must wait behind others are
// packed instead, so the buffers held stay close to the bytes queued.
TEST_P(InProcess, QueuedReceivesArePackedNotHeldWhole) {
  cfg_.threads = 1;
  cfg_.tune_listener = [](int fd) {  // accepted sockets inherit small kernel buffers
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  };
  reactor::LoopConfig loop;
  loop.high_water = 8u << 20;  // no pause: the queue is what is measured
  START_OR_SKIP(loop);
  rt::Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  int small = 4096;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  reactor::SocketAddress a = server_.address("echo");
  ASSERT_EQ(::connect(fd.get(), a.get(), a.len), 0) << strerror(errno);
  const std::string chunk(8192, 'p');
  size_t sent = 0;
  for (int i = 0; i < 160; ++i) {  // 1.25 MiB, one 8 KiB write at a time, never read
    std::string err;
    ASSERT_TRUE(rt::send_all(fd.get(), chunk, 10000, &err)) << err;
    sent += chunk.size();
    rt::sleep_ms(1);  // so that each arrives, and is received, on its own
  }
  uint64_t queued = 0;
  size_t held = 0;
  ASSERT_TRUE(rt::wait_until(
      [&] {
        uint64_t before = queued;
        EXPECT_TRUE(on_loop0(server_, [&](reactor::EventLoop& l) {
          queued = l.stats().write_queue_bytes.get();
          held = l.buffers().held();
        }));
        return queued > 0 && queued == before;  // settled: the server read all it will
      },
      10000, 200));
  const uint64_t held_bytes = static_cast<uint64_t>(held) * 16384;
  printf("[ figure   ] %s: %llu bytes queued in %zu buffers (%.2f bytes held per byte queued)\n",
         reactor::backend_kind_name(GetParam()), static_cast<unsigned long long>(queued), held,
         static_cast<double>(held_bytes) / static_cast<double>(queued));
  ASSERT_GT(queued, 512u << 10);
  // Whole 8 KiB receives would hold 2x; packed, one partly filled buffer at the tail (and the
  // one being sent at the head) is all the slack.
  EXPECT_LE(held_bytes, queued + queued / 8 + 2 * 16384);
}

// Out of pool buffers, the loop closes the connection holding the most, never the one that
// merely asked for a buffer, and never stops reading for everyone: a non-reading hog holds
// most of a small pool, then an innocent client's echo needs buffers. Before, epoll deferred
// every read for want of a buffer (the innocent froze) and io_uring aborted the innocent.
TEST_P(InProcess, PoolExhaustionClosesTheBiggestHolderNotTheAsker) {
  cfg_.threads = 1;
  cfg_.tune_listener = [](int fd) {
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  };
  reactor::LoopConfig loop;
  loop.high_water = 64u << 20;      // no watermark pause
  loop.buffer_memory = 1ull << 30;  // no budget: this is about the pool itself
  loop.uring_ring_buffers = 32;     // io_uring takes its ring out of the pool first
  loop.max_buffers = GetParam() == BackendKind::kIoUring ? 32 + 72 : 72;
  START_OR_SKIP(loop);
  auto small_client = [&](rt::Fd* out) {
    rt::Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
    int small = 4096;
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    reactor::SocketAddress a = server_.address("echo");
    ASSERT_EQ(::connect(fd.get(), a.get(), a.len), 0) << strerror(errno);
    *out = std::move(fd);
  };
  rt::Fd hog;
  small_client(&hog);
  if (HasFatalFailure()) return;
  const std::string chunk(8192, 'h');
  for (int i = 0; i < 112; ++i) {  // 56 buffers' worth, never read
    std::string err;
    ASSERT_TRUE(rt::send_all(hog.get(), chunk, 10000, &err)) << err;
    rt::sleep_ms(1);
  }
  size_t held = 0;
  ASSERT_TRUE(rt::wait_until(
      [&] {
        size_t before = held;
        EXPECT_TRUE(on_loop0(server_, [&](reactor::EventLoop& l) { held = l.buffers().held(); }));
        return held > 40 && held == before;
      },
      10000, 200))
      << held << " buffers held";
  // The innocent client does not read at first either, so its echo must be queued: it asks
  // for buffers the hog holds.
  rt::Fd innocent;
  small_client(&innocent);
  if (HasFatalFailure()) return;
  const std::string payload = rt::random_bytes(320 << 10, 77);
  std::string err;
  ASSERT_TRUE(rt::send_all(innocent.get(), payload, 10000, &err)) << err;
  rt::RecvResult echo = rt::recv_exact(innocent.get(), payload.size(), 20000);
  ASSERT_EQ(echo.end, rt::RecvEnd::kCount)
      << rt::recv_end_name(echo.end) << " after " << echo.data.size() << " bytes";
  EXPECT_TRUE(echo.data == payload);
  // The hog was closed (reset: its queue was dropped).
  rt::RecvResult gone = rt::recv_until_eof(hog.get(), 10000, 64u << 20);
  EXPECT_NE(gone.end, rt::RecvEnd::kTimeout) << "the hog is still open";
  EXPECT_GE(server_.sum(&LoopStats::memory_closes), 1u);
  EXPECT_GE(server_.sum(&LoopStats::pool_exhausted), 1u);
}

// Sequential short connections reuse one slot (the free list is LIFO), so the slot's
// generation climbs by one per connection. Started just below the completion tag's
// generation width, 40 connections cross the wrap point: each must still be served, closed
// and counted, and a drain must then finish (a dropped completion used to hang the
// connection, leak its slot and keep the drain from ever ending).
TEST_P(InProcess, GenerationWrapKeepsServingAndDrains) {
  cfg_.threads = 1;
  reactor::LoopConfig loop;
  loop.initial_generation = reactor::CompletionTag::kGenMask - 8;
  START_OR_SKIP(loop);
  constexpr int kConns = 40;
  for (int i = 0; i < kConns; ++i) {
    SCOPED_TRACE("connection " + std::to_string(i));
    std::string err;
    rt::Fd fd = rt::connect_to(server_.address("upper"), 10000, &err);
    ASSERT_TRUE(fd) << err;
    rt::ExchangeResult r = rt::exchange(fd.get(), "wrap me\n", 8, 10000,
                                        /*shut_wr=*/true, /*want_eof=*/true);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.eof);
    EXPECT_EQ(r.received, "WRAP ME\n");
    // The server closes after our FIN; wait until it has, so the next one reuses the slot.
    ASSERT_TRUE(rt::wait_until([&] { return server_.sum(&LoopStats::active) == 0; }, 10000));
  }
  EXPECT_EQ(server_.sum(&LoopStats::accepted), static_cast<uint64_t>(kConns));
  EXPECT_EQ(server_.sum(&LoopStats::closed), static_cast<uint64_t>(kConns));
  // One connection left open across the drain must be closed by it, and the loop must exit.
  std::string err;
  rt::Fd open_fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(open_fd) << err;
  rt::ExchangeResult r = rt::exchange(open_fd.get(), "x", 1, 10000);
  ASSERT_TRUE(r.ok) << r.error;
  server_.group().drain(5000);
  rt::RecvResult eof = rt::recv_until_eof(open_fd.get(), 10000);
  EXPECT_EQ(eof.end, rt::RecvEnd::kEof) << rt::recv_end_name(eof.end);
  open_fd = rt::Fd();
  EXPECT_TRUE(rt::wait_until([&] { return server_.group().running() == 0; }, 15000))
      << "drain did not finish";
}

INSTANTIATE_TEST_SUITE_P(Backends, InProcess, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
