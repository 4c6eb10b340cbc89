// reactord process behaviour that takes deliberate waiting (label: slow): memory under a slow
// reader, restart over TIME_WAIT, descriptor exhaustion, SIGTERM during a transfer, idle
// timeouts. Once per backend.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <memory>
#include <thread>
#include <vector>

#include "tests/support/backends.h"
#include "tests/support/net.h"
#include "tests/support/payload.h"
#include "tests/support/process.h"

namespace {

using reactor::BackendKind;

// An echo transfer that never ends on its own (1 MiB through first), pumped by a thread
// until the server goes away.
struct BusyTransfer {
  rt::Fd fd;
  std::unique_ptr<rt::StreamPump> pump;
  std::thread thread;
  void start(const reactor::SocketAddress& addr) {
    std::string err;
    fd = rt::connect_to(addr, 10000, &err);
    ASSERT_TRUE(fd) << err;
    pump = std::make_unique<rt::StreamPump>(fd.get(), 1ull << 40, 8, rt::Transform::kIdentity);
    ASSERT_TRUE(pump->run(10000, true, true, [&] { return pump->received() >= (1u << 20); }))
        << pump->error();
    thread = std::thread([this] { pump->run(60000); });
  }
  ~BusyTransfer() {
    if (thread.joinable()) thread.join();
  }
};

class Lifecycle : public testing::TestWithParam<BackendKind> {
 protected:
  rt::Reactord server_;
};

// A client sends 64 MiB and reads nothing for 2 s. The server stops reading once that
// connection's write queue passes the high-water mark (1 MiB by default), so its RSS stays
// bounded. Stated bound: RSS <= baseline + 32 MiB (kernel socket buffers are not in RSS; the
// queue is ~1 MiB plus one read batch). Then the client reads everything: checksum equal.
TEST_P(Lifecycle, SlowReaderKeepsServerMemoryBounded) {
  constexpr uint64_t kTotal = 64ull << 20;
  constexpr long kBoundKiB = 32 << 10;
  RT_START_REACTORD(server_, GetParam(), {"--threads", "2", "--listen", "echo=127.0.0.1:0"});
  // Warm up (first slabs, stacks) so the baseline is not the bare binary.
  {
    std::string err;
    rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
    ASSERT_TRUE(fd) << err;
    std::string p = rt::random_bytes(1 << 20, 1);
    rt::ExchangeResult r = rt::exchange(fd.get(), p, p.size(), 30000, true, true);
    ASSERT_TRUE(r.ok) << r.error;
  }
  const long baseline = rt::rss_kib(server_.pid());
  ASSERT_GT(baseline, 0);
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::StreamPump pump(fd.get(), kTotal, 2024, rt::Transform::kIdentity);
  const uint64_t until = rt::now_ms() + 2000;
  long peak = baseline;
  ASSERT_TRUE(pump.run(30000, /*send=*/true, /*recv=*/false, [&] {
    peak = std::max(peak, rt::rss_kib(server_.pid()));
    return rt::now_ms() >= until;
  })) << pump.error();
  peak = std::max(peak, rt::rss_kib(server_.pid()));
  EXPECT_LE(peak, baseline + kBoundKiB)
      << "server RSS grew by " << (peak - baseline) << " KiB while the client sent " << pump.sent()
      << " bytes without reading";
  RecordProperty("rss_baseline_kib", std::to_string(baseline));
  RecordProperty("rss_peak_kib", std::to_string(peak));
  RecordProperty("sent_before_reading", std::to_string(pump.sent()));
  // Now read everything (and send the rest).
  ASSERT_TRUE(pump.run(120000)) << pump.error();
  EXPECT_EQ(pump.received(), kTotal);
  EXPECT_EQ(pump.first_mismatch(), -1);
  EXPECT_EQ(pump.received_checksum(), pump.expected_checksum());
  ASSERT_TRUE(pump.finish_with_eof(10000)) << pump.error();
}

// Restart while the previous server's connections sit in TIME_WAIT on its port: the server is
// the active closer when a drain closes idle connections, so it holds the TIME_WAIT entries.
TEST_P(Lifecycle, RestartBindsAtOnceOverTimeWait) {
  constexpr int kConns = 20;
  RT_START_REACTORD(server_, GetParam(), {"--threads", "2", "--listen", "echo=127.0.0.1:0"});
  const int port = server_.port("echo");
  std::vector<rt::Fd> conns;
  for (int i = 0; i < kConns; ++i) {
    std::string err;
    rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
    ASSERT_TRUE(fd) << err;
    std::string msg = "tw-" + std::to_string(i);
    rt::ExchangeResult r = rt::exchange(fd.get(), msg, msg.size(), 10000);
    ASSERT_TRUE(r.ok) << r.error;
    conns.push_back(std::move(fd));
  }
  server_.child().signal(SIGTERM);
  // Drain closes the idle connections (server FIN first); then we close ours.
  for (auto& fd : conns) {
    rt::RecvResult r = rt::recv_until_eof(fd.get(), 20000);
    EXPECT_EQ(r.end, rt::RecvEnd::kEof) << rt::recv_end_name(r.end);
    fd.reset();
  }
  auto st = server_.child().wait(30000);
  ASSERT_TRUE(st.has_value()) << "server did not exit after SIGTERM";
  EXPECT_EQ(rt::describe_status(*st), "exit 0") << server_.child().stderr_text();
  EXPECT_TRUE(rt::wait_until(
      [&] { return rt::count_tcp_sockets(port, rt::kTcpTimeWait) >= kConns; }, 10000))
      << "expected >= " << kConns << " TIME_WAIT entries on port " << port << ", found "
      << rt::count_tcp_sockets(port, rt::kTcpTimeWait);
  ASSERT_GT(rt::count_tcp_sockets(port, rt::kTcpTimeWait), 0);
  // Same explicit port, at once.
  rt::Reactord second;
  RT_START_REACTORD(second, GetParam(),
                    {"--threads", "2", "--listen", "echo=127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(second.port("echo"), port);
  std::string err;
  rt::Fd fd = rt::connect_to(second.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  std::string payload = rt::random_bytes(300'000, 5);
  rt::ExchangeResult r = rt::exchange(fd.get(), payload, payload.size(), 30000, true, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.received == payload);
}

// Descriptor exhaustion: RLIMIT_NOFILE 64 in the server, 200 connections held open. The
// server must stay up, must not spin (CPU time over 1 s of idleness < 0.5 s: a bound on
// CPU used, not on wall time), and must serve again once the flood goes away.
TEST_P(Lifecycle, EmfileFloodNoSpinAndRecovers) {
  constexpr int kFlood = 200;
  RT_START_REACTORD(server_, GetParam(), {"--threads", "1", "--listen", "echo=127.0.0.1:0"},
                    /*nofile=*/64);
  const auto addr = server_.address("echo");
  // Serve one connection first. (Under UBSan this also caches the handler's vptr check: on a
  // cache miss the check probes memory through pipe(), which fails with EMFILE, and it then
  // reports a valid handler as "invalid vptr". io_uring's multishot accept can fill every
  // descriptor before the first connection of the flood is opened.)
  {
    std::string err;
    rt::Fd fd = rt::connect_to(addr, 10000, &err);
    ASSERT_TRUE(fd) << err;
    rt::ExchangeResult r = rt::exchange(fd.get(), "warm", 4, 10000, true, true);
    ASSERT_TRUE(r.ok) << r.error;
  }
  std::vector<rt::Fd> flood;
  for (int i = 0; i < kFlood; ++i) {
    std::string err;
    rt::Fd fd = rt::connect_to(addr, 10000, &err);  // the kernel completes the handshake
    ASSERT_TRUE(fd) << "flood connection " << i << ": " << err;
    flood.push_back(std::move(fd));
  }
  // Let the server work through its accept queue, then measure an idle second.
  rt::sleep_ms(1000);
  ASSERT_TRUE(server_.child().running()) << server_.child().stderr_text();
  const double cpu0 = rt::cpu_seconds(server_.pid());
  rt::sleep_ms(1000);
  const double cpu1 = rt::cpu_seconds(server_.pid());
  ASSERT_GE(cpu0, 0);
  EXPECT_LT(cpu1 - cpu0, 0.5) << "server burned " << (cpu1 - cpu0)
                              << " s of CPU in 1 s while out of descriptors (spinning?)";
  EXPECT_LE(rt::open_fd_count(server_.pid()), 64);
  ASSERT_TRUE(server_.child().running()) << server_.child().stderr_text();
  flood.clear();
  // Served byte-exact again (retrying while the server catches up).
  std::string payload = rt::random_bytes(100'000, 77);
  std::string last_error;
  bool served = rt::wait_until(
      [&] {
        std::string err;
        rt::Fd fd = rt::connect_to(addr, 5000, &err);
        if (!fd) {
          last_error = err;
          return false;
        }
        rt::ExchangeResult r = rt::exchange(fd.get(), payload, payload.size(), 5000, true, true);
        last_error = r.error;
        return r.ok && r.received == payload;
      },
      20000, 100);
  EXPECT_TRUE(served) << "not served after the flood: " << last_error;
  EXPECT_TRUE(server_.child().running());
}

// SIGTERM mid-transfer: the transfer completes byte-exact, the client half-closes and sees
// EOF, new connections are refused, and the process exits 0.
TEST_P(Lifecycle, SigtermDuringTransferFinishesItAndExits0) {
  constexpr uint64_t kTotal = 32ull << 20;
  RT_START_REACTORD(server_, GetParam(),
                    {"--threads", "2", "--drain-timeout", "60", "--listen", "echo=127.0.0.1:0"});
  const auto addr = server_.address("echo");
  std::string err;
  rt::Fd fd = rt::connect_to(addr, 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::StreamPump pump(fd.get(), kTotal, 31337, rt::Transform::kIdentity);
  ASSERT_TRUE(pump.run(60000, true, true, [&] { return pump.received() >= kTotal / 2; }))
      << pump.error();
  server_.child().signal(SIGTERM);
  EXPECT_TRUE(server_.child().wait_for_stderr(
      [](const std::string& l) { return l.find("draining") != std::string::npos; }, 10000));
  // Keep sending and reading.
  ASSERT_TRUE(pump.run(60000)) << pump.error();
  // Listeners are closed during the drain: new connections are refused.
  EXPECT_TRUE(rt::wait_until(
      [&] {
        std::string e;
        rt::Fd other = rt::connect_to(addr, 2000, &e);
        return !other;
      },
      10000, 50));
  ASSERT_TRUE(pump.finish_with_eof(30000)) << pump.error();
  EXPECT_EQ(pump.received(), kTotal);
  EXPECT_EQ(pump.first_mismatch(), -1);
  EXPECT_EQ(pump.received_checksum(), pump.expected_checksum());
  auto st = server_.child().wait(30000);
  ASSERT_TRUE(st.has_value()) << "reactord did not exit after the drain";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << rt::describe_status(*st) << "\n"
                                                       << server_.child().stderr_text();
}

TEST_P(Lifecycle, IdleConnectionIsClosedByServer) {
  RT_START_REACTORD(server_, GetParam(), {"--idle-timeout", "1", "--listen", "echo=127.0.0.1:0"});
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::ExchangeResult r = rt::exchange(fd.get(), "wake", 4, 10000);
  ASSERT_TRUE(r.ok) << r.error;
  rt::RecvResult closed = rt::recv_until_eof(fd.get(), 10000);
  EXPECT_EQ(closed.end, rt::RecvEnd::kEof) << rt::recv_end_name(closed.end);
  EXPECT_TRUE(closed.data.empty());
  EXPECT_TRUE(server_.child().running());
}

// The idle timeout counts from the connection's last activity, not from when the event loop
// last woke up: a connection that arrives after the server sat idle longer than the timeout
// and talks at once must be served.
TEST_P(Lifecycle, IdleTimeoutSparesFreshConnectionAfterQuietPeriod) {
  RT_START_REACTORD(server_, GetParam(),
                    {"--threads", "1", "--idle-timeout", "2", "--listen", "echo=127.0.0.1:0"});
  rt::sleep_ms(3000);
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  ASSERT_TRUE(rt::send_all(fd.get(), "ping", 5000, &err)) << err;
  rt::RecvResult r = rt::recv_exact(fd.get(), 4, 10000);
  EXPECT_EQ(r.end, rt::RecvEnd::kCount)
      << "fresh connection closed at once: " << rt::recv_end_name(r.end);
  EXPECT_EQ(r.data, "ping");
}

// A second SIGTERM during a drain stops at once (and still exits 0).
TEST_P(Lifecycle, SecondSignalStopsAtOnce) {
  RT_START_REACTORD(server_, GetParam(), {"--drain-timeout", "60", "--listen", "echo=127.0.0.1:0"});
  // A transfer that keeps going keeps the drain from finishing on its own.
  BusyTransfer t;
  t.start(server_.address("echo"));
  if (HasFatalFailure()) return;
  server_.child().signal(SIGTERM);
  EXPECT_TRUE(server_.child().wait_for_stderr(
      [](const std::string& l) { return l.find("draining") != std::string::npos; }, 10000));
  server_.child().signal(SIGINT);
  auto st = server_.child().wait(20000);
  t.thread.join();
  ASSERT_TRUE(st.has_value()) << "a second signal did not stop the server";
  EXPECT_EQ(rt::describe_status(*st), "exit 0") << server_.child().stderr_text();
  EXPECT_NE(server_.child().stderr_text().find("second signal"), std::string::npos)
      << server_.child().stderr_text();
  EXPECT_FALSE(t.pump->error().empty());  // the connection was cut, not finished
}

// --drain-timeout 0 means no grace: what is still open is aborted at once and the process
// exits 0 (it used to mean "wait forever": a busy transfer kept the server running).
TEST_P(Lifecycle, DrainTimeoutZeroAbortsAtOnce) {
  RT_START_REACTORD(server_, GetParam(), {"--drain-timeout", "0", "--listen", "echo=127.0.0.1:0"});
  // A transfer that keeps going would keep a drain with any grace from finishing.
  BusyTransfer t;
  t.start(server_.address("echo"));
  if (HasFatalFailure()) return;
  server_.child().signal(SIGTERM);
  auto st = server_.child().wait(20000);
  t.thread.join();
  ASSERT_TRUE(st.has_value()) << "--drain-timeout 0 did not end the drain";
  EXPECT_EQ(rt::describe_status(*st), "exit 0") << server_.child().stderr_text();
  EXPECT_FALSE(t.pump->error().empty());  // the connection was cut, not finished
}

// --drain-timeout bounds how long a drain waits for connections to finish. A client that
// stops reading for a moment (2 s, well inside a 60 s drain timeout) while replies are queued
// for it must still get every byte once it reads again.
TEST_P(Lifecycle, DrainWaitsForPausedReaderWithinDrainTimeout) {
  constexpr uint64_t kTotal = 8ull << 20;
  RT_START_REACTORD(server_, GetParam(),
                    {"--threads", "1", "--drain-timeout", "60", "--listen", "echo=127.0.0.1:0"});
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::StreamPump pump(fd.get(), kTotal, 99, rt::Transform::kIdentity);
  // Send without reading until the server pushes back (its queue is above high water).
  uint64_t last = 0, stalled_since = rt::now_ms();
  ASSERT_TRUE(pump.run(30000, true, false, [&] {
    if (pump.sent() != last) {
      last = pump.sent();
      stalled_since = rt::now_ms();
    }
    return pump.sent() >= (2u << 20) && rt::now_ms() - stalled_since >= 300;
  })) << pump.error();
  server_.child().signal(SIGTERM);
  EXPECT_TRUE(server_.child().wait_for_stderr(
      [](const std::string& l) { return l.find("draining") != std::string::npos; }, 10000));
  rt::sleep_ms(2000);  // not reading
  ASSERT_TRUE(pump.run(60000)) << pump.error() << "\nserver: " << server_.child().stderr_text();
  ASSERT_TRUE(pump.finish_with_eof(30000)) << pump.error();
  EXPECT_EQ(pump.first_mismatch(), -1);
  EXPECT_EQ(pump.received_checksum(), pump.expected_checksum());
  auto st = server_.child().wait(30000);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(rt::describe_status(*st), "exit 0");
}

INSTANTIATE_TEST_SUITE_P(Backends, Lifecycle, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
