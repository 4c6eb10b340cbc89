// EpollBackend's bulk-stream reads, counted on a real loopback socket: a message already queued
// whole in the server's socket is read in as few readv calls as the chain allows.
//
// The loop is held in a posted task while the client's bytes land in the server's receive
// queue, so what each read finds is fixed, not a matter of timing. The loop thread's syscr
// (/proc/.../io) counts read and readv calls, not recv: a 16 KiB recv fills the first buffer
// and starts bulk mode, then one 256 KiB readv fills a 16-buffer chain and a second readv
// takes the remaining 112 KiB (short: the socket is drained). With 8-buffer chains it took
// three (128 KiB, 128 KiB, 112 KiB).
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

using reactor::LoopStats;

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

TEST(EpollBulkReads, QueuedMessageTakesOneReadvPerChain) {
  constexpr size_t kMessage = 384 << 10;
  constexpr int kSocketBuffer = 2 << 20;
  rt::InProcessServer server;
  rt::InProcessServer::Config cfg;
  cfg.backend = reactor::BackendKind::kEpoll;
  cfg.threads = 1;
  cfg.protocols = {"echo"};
  cfg.tune_listener = [](int fd) {
    int v = kSocketBuffer;  // FORCE passes net.core.rmem_max where allowed
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  };
  RT_START_INPROCESS(server, cfg);

  std::string err;
  rt::Fd fd = rt::connect_to(server.address("echo"), 10000, &err, 0, kSocketBuffer);
  ASSERT_TRUE(fd) << err;
  ASSERT_TRUE(rt::wait_until([&] { return server.sum(&LoopStats::accepted) == 1; }, 10000));

  std::promise<pid_t> loop_tid;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server.group().loop(0).post([&loop_tid, released](reactor::EventLoop&) {
    loop_tid.set_value(gettid());
    released.wait();
  });
  const pid_t tid = loop_tid.get_future().get();
  const std::string payload = rt::random_bytes(kMessage, 14);
  const bool sent = rt::send_all(fd.get(), payload, 10000, &err);
  // Everything acknowledged = everything in the server's receive queue.
  int unacked = -1;
  const bool queued =
      sent && rt::wait_until(
                  [&] { return ioctl(fd.get(), TIOCOUTQ, &unacked) == 0 && unacked == 0; }, 10000);
  const long long before = read_calls(tid);
  release.set_value();
  ASSERT_TRUE(sent) << err;
  if (before < 0) GTEST_SKIP() << "no /proc/<pid>/task/<tid>/io (task I/O accounting)";
  if (!queued) GTEST_SKIP() << "the server's receive buffer does not hold " << kMessage << " B";

  rt::RecvResult r = rt::recv_exact(fd.get(), kMessage, 30000);
  ASSERT_EQ(r.data.size(), kMessage);
  EXPECT_TRUE(r.data == payload) << "echo differs";
  EXPECT_EQ(read_calls(tid) - before, 2) << "readv calls for a queued " << kMessage << " B message";
}

}  // namespace
