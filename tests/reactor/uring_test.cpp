// io_uring-specific behaviour: ENOBUFS from a tiny provided-buffer ring is survived with no
// byte lost, and a kernel/seccomp that refuses io_uring_setup makes reactord fall back to epoll.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "reactor/backend_kind.h"
#include "tests/support/inprocess_server.h"
#include "tests/support/net.h"
#include "tests/support/payload.h"
#include "tests/support/process.h"

namespace {

TEST(UringEnobufs, TinyRingLosesNoByteAndCountsRearms) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  rt::InProcessServer server;
  rt::InProcessServer::Config cfg;
  cfg.backend = reactor::BackendKind::kIoUring;
  cfg.threads = 1;
  cfg.protocols = {"echo"};
  cfg.loop.uring_ring_buffers = 1;  // one receive buffer for the whole loop: ENOBUFS is certain
  RT_START_INPROCESS(server, cfg);

  // Eight connections stream at once; with a single ring buffer, every receive that completes
  // while another connection holds it ends its multishot with -ENOBUFS.
  constexpr int kConns = 8;
  constexpr size_t kBytes = 512 * 1024;
  std::vector<std::thread> clients;
  std::vector<int> ok(kConns, 0);
  std::vector<std::string> errors(kConns);
  for (int i = 0; i < kConns; ++i) {
    clients.emplace_back([&, i] {
      std::string err;
      rt::Fd fd = rt::connect_to(server.address("echo"), 10000, &err);
      if (!fd) {
        errors[i] = "connect: " + err;
        return;
      }
      std::string payload = rt::random_bytes(kBytes, 1000 + i);
      rt::ExchangeResult r = rt::exchange(fd.get(), payload, kBytes, 60000, true, true);
      if (!r.ok) {
        errors[i] = r.error;
        return;
      }
      ok[i] = r.received == payload && r.eof;
      if (!ok[i]) errors[i] = "bytes differ";
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kConns; ++i) EXPECT_EQ(ok[i], 1) << "connection " << i << ": " << errors[i];
  EXPECT_GT(server.sum(&reactor::LoopStats::enobufs), 0u)
      << "a 1-buffer ring under 8 concurrent streams must have run dry";
  EXPECT_EQ(server.sum(&reactor::LoopStats::resets), 0u) << "ENOBUFS must not close anything";
}

// Runs reactord under a seccomp filter that makes io_uring_setup fail with `err`.
rt::RunResult run_without_uring(const char* err, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {NO_URING_EXEC_BIN, err, rt::reactord_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return rt::run_process(argv, "", 30000);
}

TEST(UringFallback, SetupRefusedExplicitIoUringExitsOneWithClearMessage) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  for (const char* err : {"EPERM", "ENOSYS", "ENOMEM"}) {
    rt::RunResult r =
        run_without_uring(err, {"--backend", "io_uring", "--listen", "echo=127.0.0.1:0"});
    ASSERT_TRUE(r.exited()) << err;
    EXPECT_EQ(r.exit_code(), 1) << err << "\n" << r.err;
    EXPECT_NE(r.err.find("io_uring backend unavailable"), std::string::npos) << r.err;
  }
}

TEST(UringFallback, SetupRefusedAutoComesUpOnEpollAndServes) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  for (const char* err : {"EPERM", "ENOSYS", "ENOMEM"}) {
    rt::Reactord server;
    rt::Reactord::Options opts;
    opts.launcher = {NO_URING_EXEC_BIN, err};
    opts.args = {"--backend", "auto", "--threads", "1", "--listen", "echo=127.0.0.1:0"};
    opts.timeout_ms = 15000;
    rt::Reactord::StartResult started = server.start(opts);
    rt::Child& child = server.child();
    std::string log = child.stderr_text();
    ASSERT_EQ(started.kind, rt::Reactord::Start::kReady) << err << ": " << started.message;
    EXPECT_NE(log.find("io_uring unavailable"), std::string::npos) << log;
    EXPECT_NE(log.find("backend epoll"), std::string::npos) << log;
    ASSERT_TRUE(server.listener("echo")) << log;
    int port = server.port("echo");
    std::string e;
    rt::Fd fd = rt::connect_to(rt::loopback4(port), 5000, &e);
    ASSERT_TRUE(fd) << e;
    std::string payload = rt::random_bytes(100000, 7);
    rt::ExchangeResult x = rt::exchange(fd.get(), payload, payload.size(), 20000);
    ASSERT_TRUE(x.ok) << x.error;
    EXPECT_EQ(x.received, payload);
    fd.reset();
    child.signal(SIGTERM);
    auto status = child.wait(20000);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << rt::describe_status(*status);
  }
}

// Receive bundles (Linux 6.10, bounded by the multishot limit of 6.17) carry bulk streams;
// REACTOR_URING_DISABLE=bundle forces the one-buffer-per-completion path. Both must echo a
// bulk stream byte for byte, and the switch must really switch.
TEST(UringFeatures, BundlesOnOrForcedOffEchoBulkByteExact) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  for (bool forced_off : {false, true}) {
    SCOPED_TRACE(forced_off ? "REACTOR_URING_DISABLE=bundle" : "default");
    rt::Reactord server;
    rt::Reactord::Options opts;
    opts.args = {"--backend", "io_uring", "--threads", "1", "--log-level", "debug",
                 "--listen", "echo=127.0.0.1:0"};
    if (forced_off) opts.env = {{"REACTOR_URING_DISABLE", "bundle"}};
    opts.timeout_ms = 15000;
    rt::Reactord::StartResult started = server.start(opts);
    if (started.kind == rt::Reactord::Start::kSkip) GTEST_SKIP() << started.message;
    ASSERT_EQ(started.kind, rt::Reactord::Start::kReady) << started.message;
    std::string log = server.child().stderr_text();
    if (forced_off) {
      EXPECT_NE(log.find("receive bundles off (REACTOR_URING_DISABLE)"), std::string::npos) << log;
    } else {
      EXPECT_NE(log.find("receive bundles o"), std::string::npos) << log;
      EXPECT_EQ(log.find("REACTOR_URING_DISABLE"), std::string::npos) << log;
    }
    std::string e;
    rt::Fd fd = rt::connect_to(rt::loopback4(server.port("echo")), 5000, &e);
    ASSERT_TRUE(fd) << e;
    for (size_t size : {size_t{1} << 20, size_t{3} << 20}) {
      std::string payload = rt::random_bytes(size, size + forced_off);
      rt::ExchangeResult x = rt::exchange(fd.get(), payload, payload.size(), 30000);
      ASSERT_TRUE(x.ok) << x.error;
      EXPECT_EQ(x.received == payload, true) << "echo of " << size << " bytes differs";
    }
  }
}

// Small messages used to lap the whole provided-buffer ring (the kernel takes entries in order),
// leaving the first page of each of its 1,024 buffers resident: 4 MiB after a few thousand
// messages, whatever the number of connections. Only a few warm buffers are published now.
TEST(UringRing, SmallMessagesKeepTheRingMostlyUntouched) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  rt::Reactord server;
  rt::Reactord::Options opts;
  opts.args = {"--backend", "io_uring", "--threads", "1", "--idle-timeout", "0",
               "--listen", "echo=127.0.0.1:0"};
  opts.timeout_ms = 15000;
  rt::Reactord::StartResult started = server.start(opts);
  if (started.kind == rt::Reactord::Start::kSkip) GTEST_SKIP() << started.message;
  ASSERT_EQ(started.kind, rt::Reactord::Start::kReady) << started.message;
  constexpr int kConns = 100;
  constexpr int kRounds = 40;  // 4,000 messages: almost four laps of a 1,024-entry ring
  std::vector<rt::Fd> fds;
  std::string e;
  const std::string msg(64, 'm');
  for (int i = 0; i < kConns; ++i) {
    fds.push_back(rt::connect_to(rt::loopback4(server.port("echo")), 5000, &e));
    ASSERT_TRUE(fds.back()) << e;
    rt::ExchangeResult x = rt::exchange(fds.back().get(), msg, msg.size(), 10000);
    ASSERT_TRUE(x.ok) << x.error;
  }
  const long before = rt::rss_kib(server.pid());
  for (int round = 0; round < kRounds; ++round) {
    for (rt::Fd& fd : fds) {
      rt::ExchangeResult x = rt::exchange(fd.get(), msg, msg.size(), 10000);
      ASSERT_TRUE(x.ok) << x.error;
      ASSERT_EQ(x.received, msg);
    }
  }
  const long grown = rt::rss_kib(server.pid()) - before;
  // Lapping the ring costs 4,096 KiB; a few warm buffers cost well under 1 MiB.
  EXPECT_LT(grown, 2048) << "RSS grew by " << grown << " KiB over " << kConns * kRounds
                         << " 64-byte echoes";
}

}  // namespace
