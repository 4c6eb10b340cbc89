// A protocol that paused reading itself (pause_reading(), as a proxy does while its other side
// is slow) sees no on_data until it resumes, and then every byte the peer sent, in order, on
// each backend; and so does one the loop paused for memory. The test's thread is the peer.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>

#include "reactor/event_loop.h"
#include "reactor/handler.h"
#include "tests/support/backends.h"
#include "tests/support/payload.h"

namespace {

using reactor::BackendKind;

// One loop on its own thread with one connection to the test: a client connection to a
// listener the test owns, or (accepted) one the test made to the loop's listener.
class PausedReading : public testing::TestWithParam<BackendKind> {
 protected:
  // Starts the loop and connects it to peer_; false (skip reason in why_) when the backend
  // cannot run here.
  bool start(reactor::ConnectionHandler* handler, bool accepted = false,
             reactor::LoopConfig cfg = {}) {
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (accepted ? SOCK_NONBLOCK : 0), 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(lfd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(lfd_, 4), 0);
    EXPECT_EQ(getsockname(lfd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    std::promise<std::string> started;
    loop_thread_ = std::thread([&] {
      cfg.backend = GetParam();
      cfg.idle_timeout_ms = 0;
      try {
        reactor::EventLoop loop(cfg);
        if (accepted) {
          loop.add_listener(lfd_, handler, "test");  // the loop closes it
          lfd_ = -1;
        } else {
          conn_ = loop.connect(
              reactor::SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&addr), len),
              handler);
        }
        loop_ = &loop;
        started.set_value("");
        loop.run();
        loop_ = nullptr;
      } catch (const std::exception& e) {
        started.set_value(e.what());
      }
    });
    why_ = started.get_future().get();
    if (!why_.empty()) return false;
    if (accepted) {
      peer_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      EXPECT_EQ(connect(peer_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    } else {
      peer_ = accept(lfd_, nullptr, nullptr);
    }
    EXPECT_GE(peer_, 0);
    return peer_ >= 0;
  }
  // Runs fn on the loop's thread, unless the loop already ended.
  void on_loop(std::function<void(reactor::Connection&)> fn) {
    if (reactor::EventLoop* loop = loop_.load())
      loop->post([this, fn](reactor::EventLoop&) { fn(*conn_.load()); });
  }
  void TearDown() override {
    if (loop_thread_.joinable()) loop_thread_.join();
    if (peer_ >= 0) close(peer_);
    if (lfd_ >= 0) close(lfd_);
  }

  int lfd_ = -1;
  int peer_ = -1;
  std::string why_;
  std::thread loop_thread_;
  std::atomic<reactor::EventLoop*> loop_{nullptr};
  std::atomic<reactor::Connection*> conn_{nullptr};
};

// Collects what arrives; pauses reading once `pause_after` bytes are in.
struct Collector : reactor::ConnectionHandler {
  explicit Collector(size_t pause_after) : pause_after(pause_after) {}
  void on_data(reactor::Connection& c, reactor::Buffer&& b) override {
    if (user_paused) while_paused += b.size();
    got.append(b.data(), b.size());
    if (!paused_once && got.size() >= pause_after) {
      paused_once = true;
      user_paused = true;
      c.pause_reading();
      paused.set_value();
    }
  }
  void on_peer_closed(reactor::Connection& c) override {
    eof = true;
    c.close();
  }
  void on_error(reactor::Connection&, int err) override { error = err; }
  void on_close(reactor::Connection& c) override { c.loop().request_stop(); }
  void resume(reactor::Connection& c) {
    user_paused = false;
    c.resume_reading();
  }

  size_t pause_after;
  std::string got;
  bool paused_once = false;
  bool user_paused = false;
  size_t while_paused = 0;  // bytes handed to on_data between pause and resume
  bool eof = false;
  int error = 0;
  std::promise<void> paused;
};

// Shuts its sending side as soon as it opens (the loop's FIN goes first), pauses like Collector.
struct ShutsAtOnce : Collector {
  explicit ShutsAtOnce(size_t pause_after) : Collector(pause_after) {}
  void on_open(reactor::Connection& c) override { c.shutdown_write(); }
};

// Both FINs make the socket report HUP while nothing is being read; that HUP is neither a reset
// (epoll took it for one) nor the end of the data (io_uring's hang-up poll did).
TEST_P(PausedReading, HalfClosedBytesBeforeThePeersFinArriveAfterResume) {
  ShutsAtOnce handler(1);
  std::future<void> paused = handler.paused.get_future();
  if (!start(&handler)) {
    if (HasFailure()) return;
    GTEST_SKIP() << why_;
  }
  char c;
  ASSERT_EQ(recv(peer_, &c, 1, 0), 0) << "expected the loop's FIN (shutdown_write) first";
  ASSERT_EQ(send(peer_, "first", 5, 0), 5);
  ASSERT_EQ(paused.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const std::string rest = rt::random_bytes(100000, 5);
  ASSERT_EQ(send(peer_, rest.data(), rest.size(), 0), static_cast<ssize_t>(rest.size()));
  close(peer_);  // our FIN: with the loop's, the socket is shut both ways while it is paused
  peer_ = -1;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the HUP be seen paused
  // The loop is still running unless the HUP already ended the connection (the bug).
  on_loop([&](reactor::Connection& conn) { handler.resume(conn); });
  loop_thread_.join();
  EXPECT_EQ(handler.error, 0) << "the HUP of two FINs was taken for a reset";
  EXPECT_TRUE(handler.eof);
  EXPECT_EQ(handler.got.size(), 5 + rest.size());
  EXPECT_TRUE(handler.got == "first" + rest) << "bytes sent before the FIN were lost";
  EXPECT_EQ(handler.while_paused, 0u);
}

// A fast sender: io_uring's multishot receive (and epoll's chain of reads) already has bytes in
// hand when the protocol pauses in the middle of them.
TEST_P(PausedReading, NoBytesWhilePausedAndEveryByteAfterResume) {
  Collector handler(100000);  // inside a bulk stream's receive, not at its first buffer
  std::future<void> paused = handler.paused.get_future();
  if (!start(&handler)) {
    if (HasFailure()) return;
    GTEST_SKIP() << why_;
  }
  const std::string payload = rt::random_bytes(rt::kSanitized ? 4 << 20 : 16 << 20, 11);
  std::thread sender([&] {
    size_t off = 0;
    while (off < payload.size()) {
      ssize_t n = send(peer_, payload.data() + off, payload.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    shutdown(peer_, SHUT_WR);
  });
  ASSERT_EQ(paused.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  // Receives completed before the pause took effect land meanwhile; none may reach on_data.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  on_loop([&](reactor::Connection& conn) { handler.resume(conn); });
  sender.join();
  loop_thread_.join();
  EXPECT_EQ(handler.while_paused, 0u) << "on_data was called on a paused connection";
  EXPECT_EQ(handler.error, 0);
  EXPECT_TRUE(handler.eof);
  ASSERT_EQ(handler.got.size(), payload.size());
  EXPECT_TRUE(handler.got == payload) << "bytes lost or reordered";
}

// Paused by the loop, not the protocol: memory is short and this connection holds the most.
// Both FINs then show as a hang-up while nothing is read; what the peer sent before its FIN
// must still arrive once reading runs again.
TEST_P(PausedReading, MemoryPausedHalfClosedGetsTheBytesBeforeThePeersFin) {
  struct HoldsMemory : Collector {
    HoldsMemory() : Collector(SIZE_MAX) {}
    void on_open(reactor::Connection& c) override {
      c.shutdown_write();
      c.add_held_bytes(800 << 10);  // above 3/4 of the 1 MiB budget: pressure
      memory_paused = c.reading_paused();
    }
    bool memory_paused = false;
  } handler;
  reactor::LoopConfig cfg;
  cfg.buffer_memory = 1 << 20;
  if (!start(&handler, /*accepted=*/true, cfg)) {
    if (HasFailure()) return;
    GTEST_SKIP() << why_;
  }
  char c;
  ASSERT_EQ(recv(peer_, &c, 1, 0), 0) << "expected the loop's FIN (shutdown_write) first";
  // Well inside the receive window a fresh connection offers: more, and the peer's FIN waits
  // behind bytes the paused loop never makes room for (it then cannot show that it left).
  const std::string payload = rt::random_bytes(40000, 7);
  ASSERT_EQ(send(peer_, payload.data(), payload.size(), 0), static_cast<ssize_t>(payload.size()));
  close(peer_);  // our FIN: with the loop's, the socket is shut both ways while it is paused
  peer_ = -1;
  loop_thread_.join();  // the connection's close stops the loop
  EXPECT_TRUE(handler.memory_paused) << "the scenario needs a connection paused for memory";
  EXPECT_EQ(handler.error, 0);
  EXPECT_TRUE(handler.eof) << "the hang-up was taken for the end of the data";
  EXPECT_EQ(handler.got.size(), payload.size());
  EXPECT_TRUE(handler.got == payload) << "bytes sent before the FIN were lost";
}

// The protocol resumes; the bytes held during the pause wait for the loop's next turn, and in
// this turn, before them, the socket reports a hang-up (our FIN, then the peer's, with more
// bytes before it). Not a reset, and not the end: the held bytes, then the socket's, then EOF.
// (epoll took it for a reset and io_uring for the end of the data: the window between
// resume_reading() and the held bytes' delivery was neither paused nor receiving.)
TEST_P(PausedReading, HangUpBeforeTheHeldBytesAreDeliveredLosesNothing) {
  ShutsAtOnce handler(16384 + 1);  // pauses inside the first wide read / bundle
  std::future<void> paused = handler.paused.get_future();
  if (!start(&handler)) {
    if (HasFailure()) return;
    GTEST_SKIP() << why_;
  }
  char c;
  ASSERT_EQ(recv(peer_, &c, 1, 0), 0) << "expected the loop's FIN (shutdown_write) first";
  const std::string first = rt::random_bytes(200000, 3);
  const std::string second = rt::random_bytes(50000, 4);
  ASSERT_EQ(send(peer_, first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
  ASSERT_EQ(paused.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // receives in flight land
  // Hold the loop in a task, so the resume (posted first) and the hang-up (after it) are
  // seen in the same turn, in that order.
  std::promise<void> busy;
  on_loop([&](reactor::Connection&) {
    busy.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  busy.get_future().wait();
  on_loop([&](reactor::Connection& conn) { handler.resume(conn); });
  ASSERT_EQ(send(peer_, second.data(), second.size(), 0), static_cast<ssize_t>(second.size()));
  close(peer_);
  peer_ = -1;
  loop_thread_.join();
  EXPECT_EQ(handler.error, 0) << "the hang-up of two FINs was taken for a reset";
  EXPECT_TRUE(handler.eof);
  EXPECT_EQ(handler.while_paused, 0u);
  ASSERT_EQ(handler.got.size(), first.size() + second.size());
  EXPECT_TRUE(handler.got == first + second) << "bytes lost or reordered";
}

INSTANTIATE_TEST_SUITE_P(Backends, PausedReading, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
