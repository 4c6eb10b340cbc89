// A protocol that half-closed (shutdown_write) and paused reading itself, as a proxy does while
// its other side is slow, must still get every byte the peer sent before the peer's FIN once it
// resumes. Both FINs make the socket report HUP while nothing is being read; that HUP is
// neither a reset (epoll took it for one) nor the end of the data (io_uring's hang-up poll did).
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

class PausedHalfClose : public testing::TestWithParam<BackendKind> {};

// Shuts our side at once; pauses reading after the first bytes; collects the rest after resume.
struct Collector : reactor::ConnectionHandler {
  void on_open(reactor::Connection& c) override { c.shutdown_write(); }
  void on_data(reactor::Connection& c, reactor::Buffer&& b) override {
    got.append(b.data(), b.size());
    if (!paused_once) {
      paused_once = true;
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

  std::string got;
  bool paused_once = false;
  bool eof = false;
  int error = 0;
  std::promise<void> paused;
};

TEST_P(PausedHalfClose, BytesBeforeThePeersFinArriveAfterResume) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(lfd, 4), 0);
  ASSERT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  Collector handler;
  std::future<void> paused = handler.paused.get_future();
  std::promise<std::string> started;
  std::atomic<reactor::EventLoop*> loop_ptr{nullptr};
  std::atomic<reactor::Connection*> conn_ptr{nullptr};
  std::thread loop_thread([&] {
    reactor::LoopConfig cfg;
    cfg.backend = GetParam();
    cfg.idle_timeout_ms = 0;
    try {
      reactor::EventLoop loop(cfg);
      conn_ptr = loop.connect(
          reactor::SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&addr), len),
          &handler);
      loop_ptr = &loop;
      started.set_value("");
      loop.run();
      loop_ptr = nullptr;
    } catch (const std::exception& e) {
      started.set_value(e.what());
    }
  });
  std::string why = started.get_future().get();
  if (!why.empty()) {
    loop_thread.join();
    close(lfd);
    GTEST_SKIP() << why;
  }
  int fd = accept(lfd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  char c;
  ASSERT_EQ(recv(fd, &c, 1, 0), 0) << "expected the loop's FIN (shutdown_write) first";
  ASSERT_EQ(send(fd, "first", 5, 0), 5);
  ASSERT_EQ(paused.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const std::string rest = rt::random_bytes(100000, 5);
  ASSERT_EQ(send(fd, rest.data(), rest.size(), 0), static_cast<ssize_t>(rest.size()));
  close(fd);  // our FIN: with the loop's, the socket is shut both ways while it is paused
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the HUP be seen paused
  // The loop is still running unless the HUP already ended the connection (the bug).
  if (reactor::EventLoop* loop = loop_ptr.load())
    loop->post([&](reactor::EventLoop&) { conn_ptr.load()->resume_reading(); });
  loop_thread.join();
  close(lfd);
  EXPECT_EQ(handler.error, 0) << "the HUP of two FINs was taken for a reset";
  EXPECT_TRUE(handler.eof);
  EXPECT_EQ(handler.got.size(), 5 + rest.size());
  EXPECT_TRUE(handler.got == "first" + rest) << "bytes sent before the FIN were lost";
}

INSTANTIATE_TEST_SUITE_P(Backends, PausedHalfClose, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
