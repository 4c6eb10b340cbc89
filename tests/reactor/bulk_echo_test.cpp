// Bulk echo on real loopback sockets, counted: a message already queued whole in the server's
// socket is read in as few calls as the chain allows (epoll), and its receive-ring buffers are
// echoed without a copy (io_uring).
//
// The loop is held in a posted task while the client's bytes land in the server's receive
// queue, so what each read finds is fixed, not a matter of timing.
#include <gtest/gtest.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <string>

#include "reactor/event_loop.h"
#include "tests/support/inprocess_server.h"
#include "tests/support/net.h"
#include "tests/support/payload.h"

namespace {

using reactor::BackendKind;
using reactor::LoopStats;

constexpr int kSocketBuffer = 2 << 20;

// The read/readv calls a thread has made (-1 without task I/O accounting).
long long read_calls(pid_t tid) {
  std::ifstream io("/proc/self/task/" + std::to_string(tid) + "/io");
  std::string key;
  long long value = -1;
  while (io >> key >> value) {
    if (key == "syscr:") return value;
  }
  return -1;
}

rt::InProcessServer::Config one_echo_loop(BackendKind backend) {
  rt::InProcessServer::Config cfg;
  cfg.backend = backend;
  cfg.threads = 1;
  cfg.protocols = {"echo"};
  cfg.tune_listener = [](int fd) {
    int v = kSocketBuffer;  // FORCE passes net.core.rmem_max where allowed
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  };
  return cfg;
}

struct QueuedEcho {
  bool queued = false;   // the whole message sat in the server's socket at release
  long long reads = -1;  // the loop thread's read/readv calls from release to echo
  std::string error;
};

// Holds the loop, sends `payload` until the server's kernel has all of it (everything
// acknowledged), releases the loop and reads the echo back, checked byte for byte.
QueuedEcho echo_queued(rt::InProcessServer& server, const std::string& payload) {
  QueuedEcho out;
  rt::Fd fd = rt::connect_to(server.address("echo"), 10000, &out.error, 0, kSocketBuffer);
  if (!fd) return out;
  if (!rt::wait_until([&] { return server.sum(&LoopStats::accepted) == 1; }, 10000)) {
    out.error = "not accepted";
    return out;
  }
  std::promise<pid_t> loop_tid;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server.group().loop(0).post([&loop_tid, released](reactor::EventLoop&) {
    loop_tid.set_value(gettid());
    released.wait();
  });
  const pid_t tid = loop_tid.get_future().get();
  const bool sent = rt::send_all(fd.get(), payload, 10000, &out.error);
  int unacked = -1;
  out.queued =
      sent && rt::wait_until(
                  [&] { return ioctl(fd.get(), TIOCOUTQ, &unacked) == 0 && unacked == 0; }, 10000);
  const long long before = read_calls(tid);
  release.set_value();
  if (!sent) return out;
  rt::RecvResult r = rt::recv_exact(fd.get(), payload.size(), 30000);
  if (r.data != payload) {
    out.error = "echo differs (" + std::to_string(r.data.size()) + " of " +
                std::to_string(payload.size()) + " B back)";
    return out;
  }
  if (before >= 0) out.reads = read_calls(tid) - before;
  return out;
}

// syscr counts read and readv, not recv: a 16 KiB recv fills the first buffer and starts bulk
// mode, then one 256 KiB readv fills a 16-buffer chain and a second takes the remaining
// 112 KiB (short: the socket is drained). With 8-buffer chains it took three.
TEST(EpollBulkReads, QueuedMessageTakesOneReadvPerChain) {
  constexpr size_t kMessage = 384 << 10;
  rt::InProcessServer server;
  RT_START_INPROCESS(server, one_echo_loop(BackendKind::kEpoll));
  QueuedEcho e = echo_queued(server, rt::random_bytes(kMessage, 14));
  ASSERT_TRUE(e.error.empty()) << e.error;
  if (!e.queued) GTEST_SKIP() << "the server's receive buffer does not hold " << kMessage << " B";
  if (e.reads < 0) GTEST_SKIP() << "no /proc/<pid>/task/<tid>/io (task I/O accounting)";
  EXPECT_EQ(e.reads, 2) << "readv calls for a queued " << kMessage << " B message";
}

// A bundle's ring buffers go out in the send that follows it: none is copied while less than
// a bundle's worth (16 buffers) waits ahead of it. Before, every ring buffer that found its
// own bundle's earlier buffers in the queue was copied (15 of every 16 in a bulk echo).
TEST(UringBulkEcho, RingBuffersOfOneBundleAreNotCopied) {
  constexpr size_t kMessage = 256 << 10;
  rt::InProcessServer server;
  RT_START_INPROCESS(server, one_echo_loop(BackendKind::kIoUring));
  QueuedEcho e = echo_queued(server, rt::random_bytes(kMessage, 15));
  ASSERT_TRUE(e.error.empty()) << e.error;
  if (!e.queued) GTEST_SKIP() << "the server's receive buffer does not hold " << kMessage << " B";
  EXPECT_EQ(server.sum(&LoopStats::ring_copies), 0u);
}

}  // namespace
