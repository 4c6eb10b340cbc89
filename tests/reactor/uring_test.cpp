// io_uring-specific behaviour: ENOBUFS from a tiny provided-buffer ring is survived with no
// byte lost, and a kernel/seccomp that refuses io_uring_setup makes reactord fall back to epoll.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
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

// Starts reactord on io_uring (one loop, debug log) with `env`.
rt::Reactord::StartResult start_uring(rt::Reactord& server,
                                      std::vector<std::pair<std::string, std::string>> env) {
  rt::Reactord::Options opts;
  opts.args = {"--backend", "io_uring",    "--threads", "1",        "--idle-timeout",
               "0",         "--log-level", "debug",     "--listen", "echo=127.0.0.1:0"};
  opts.env = std::move(env);
  opts.timeout_ms = 15000;
  return server.start(opts);
}

#define START_URING(server, env)                                                       \
  do {                                                                                 \
    rt::Reactord::StartResult started_ = start_uring(server, env);                     \
    if (started_.kind == rt::Reactord::Start::kSkip) GTEST_SKIP() << started_.message; \
    ASSERT_EQ(started_.kind, rt::Reactord::Start::kReady) << started_.message;         \
  } while (0)

// Echoes 1 MiB and 3 MiB on one connection and checks every byte.
void expect_bulk_echo(const rt::Reactord& server, size_t seed) {
  std::string e;
  rt::Fd fd = rt::connect_to(rt::loopback4(server.port("echo")), 5000, &e);
  ASSERT_TRUE(fd) << e;
  for (size_t size : {size_t{1} << 20, size_t{3} << 20}) {
    std::string payload = rt::random_bytes(size, size + seed);
    rt::ExchangeResult x = rt::exchange(fd.get(), payload, payload.size(), 30000);
    ASSERT_TRUE(x.ok) << x.error;
    EXPECT_EQ(x.received == payload, true) << "echo of " << size << " bytes differs";
  }
}

// The environment that forces `feature` off, or nothing.
std::vector<std::pair<std::string, std::string>> disabling(const char* feature, bool off) {
  if (!off) return {};
  return {{"REACTOR_URING_DISABLE", feature}};
}

bool has(const std::string& log, const char* text) {
  return log.find(text) != std::string::npos;
}

// Receive bundles (Linux 6.10, bounded by the multishot limit of 6.17) carry bulk streams;
// REACTOR_URING_DISABLE=bundle forces the one-buffer-per-completion path. Both must echo a
// bulk stream byte for byte, and the switch must really switch.
TEST(UringFeatures, BundlesOnOrForcedOffEchoBulkByteExact) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  for (bool forced_off : {false, true}) {
    SCOPED_TRACE(forced_off ? "REACTOR_URING_DISABLE=bundle" : "default");
    rt::Reactord server;
    START_URING(server, disabling("bundle", forced_off));
    std::string log = server.child().stderr_text();
    if (forced_off) {
      EXPECT_TRUE(has(log, "receive bundles off (REACTOR_URING_DISABLE)")) << log;
    } else {
      EXPECT_TRUE(has(log, "receive bundles o")) << log;
      EXPECT_FALSE(has(log, "REACTOR_URING_DISABLE")) << log;
    }
    expect_bulk_echo(server, forced_off);
  }
}

// Sockets in the ring's registered file table, from /proc/PID/fdinfo of its io_uring
// descriptors ("N: socket:[inode]" lines under UserFiles); -1 if the listing was not there
// (the kernel prints it only when it gets the ring's lock at once).
int registered_sockets(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd/";
  int total = -1;
  for (int fd = 0; fd < 1024; ++fd) {
    char link[64] = {};
    if (readlink((dir + std::to_string(fd)).c_str(), link, sizeof link - 1) <= 0) continue;
    if (std::string(link) != "anon_inode:[io_uring]") continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
    std::string line;
    bool in_files = false;
    while (std::getline(in, line)) {
      if (line.rfind("UserFiles:", 0) == 0) {
        in_files = true;
        total = std::max(total, 0);
      } else if (in_files && line.find(": socket:[") != std::string::npos) {
        ++total;
      } else if (in_files && line.find(':') != std::string::npos && line[0] != ' ') {
        in_files = false;
      }
    }
  }
  return total;
}

// Waits (up to 3 s) for the table to hold exactly `want` sockets; returns the last count seen.
int wait_registered(pid_t pid, int want) {
  int n = -1;
  for (int i = 0; i < 300 && (n = registered_sockets(pid)) != want; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return n;
}

// Registered descriptors: each open connection's socket sits in the ring's file table and
// leaves it when the connection closes, so the peer sees the close (before Linux 6.13 a
// removal waited for every older fixed-file request, e.g. an idle connection's multishot
// receive, and the socket stayed open). REACTOR_URING_DISABLE=fixed_files leaves it empty.
TEST(UringFeatures, FixedFilesHoldOpenConnectionsOnly) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  for (bool forced_off : {false, true}) {
    SCOPED_TRACE(forced_off ? "REACTOR_URING_DISABLE=fixed_files" : "default");
    rt::Reactord server;
    START_URING(server, disabling("fixed_files", forced_off));
    std::string log = server.child().stderr_text();
    if (forced_off) {
      EXPECT_TRUE(has(log, "registered descriptors off (REACTOR_URING_DISABLE)")) << log;
    } else if (!has(log, "registered descriptors on")) {
      GTEST_SKIP() << "kernel without registered descriptors we can close (Linux 6.13)";
    }
    const int table = forced_off ? 0 : 1;
    std::string e;
    rt::Fd idle = rt::connect_to(rt::loopback4(server.port("echo")), 5000, &e);
    ASSERT_TRUE(idle) << e;
    rt::ExchangeResult x = rt::exchange(idle.get(), "ping", 4, 10000);
    ASSERT_TRUE(x.ok) << x.error;
    // Ten connections end while the idle one's multishot receive stays armed: each half-
    // closes, and the server's close must reach it as an EOF after the echo.
    for (int i = 0; i < 10; ++i) {
      rt::Fd fd = rt::connect_to(rt::loopback4(server.port("echo")), 5000, &e);
      ASSERT_TRUE(fd) << e;
      std::string payload = rt::random_bytes(100000, i);
      rt::ExchangeResult r = rt::exchange(fd.get(), payload, payload.size(), 10000, true, true);
      ASSERT_TRUE(r.ok) << "connection " << i << ": " << r.error;
      EXPECT_TRUE(r.received == payload && r.eof) << "connection " << i;
    }
    EXPECT_EQ(wait_registered(server.pid(), table), table);
    idle = rt::Fd();
    EXPECT_EQ(wait_registered(server.pid(), 0), 0);
    expect_bulk_echo(server, 7 + forced_off);
  }
}

// Zero-copy sends are off by default (on loopback the kernel copies anyway, and pinning the
// pages costs: bench/README.md); REACTOR_URING_ENABLE=send_zc turns them on for sends of 64 KiB
// and more, whose buffers stay queued until the kernel's notification.
TEST(UringFeatures, ZeroCopySendsOnRequestEchoBulkByteExact) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  rt::Reactord server;
  START_URING(
      server,
      (std::vector<std::pair<std::string, std::string>>{{"REACTOR_URING_ENABLE", "send_zc"}}));
  if (!has(server.child().stderr_text(), "zero-copy sends on"))
    GTEST_SKIP() << "kernel without SENDMSG_ZC (Linux 6.1) or bundles (6.10)";
  expect_bulk_echo(server, 11);
  ASSERT_TRUE(server.terminate().has_value());
  std::string log = server.child().stderr_text();
  EXPECT_TRUE(has(log, " zero-copy sends, ")) << log;
}

// Zero-copy sends exist for TCP and UDP only: on a unix socket the kernel answers EOPNOTSUPP,
// and the connection was dropped on its first send of 64 KiB or more.
TEST(UringFeatures, ZeroCopySendsSkipUnixSockets) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  rt::TempDir dir;
  const std::string path = dir.path() + "/echo.sock";
  rt::Reactord server;
  rt::Reactord::Options opts;
  opts.args = {"--backend", "io_uring",         "--threads", "1",        "--idle-timeout",
               "0",         "--log-level",      "debug",     "--listen", "echo=127.0.0.1:0",
               "--listen",  "echo=unix:" + path};
  opts.env = {{"REACTOR_URING_ENABLE", "send_zc"}};
  opts.timeout_ms = 15000;
  rt::Reactord::StartResult started = server.start(opts);
  if (started.kind == rt::Reactord::Start::kSkip) GTEST_SKIP() << started.message;
  ASSERT_EQ(started.kind, rt::Reactord::Start::kReady) << started.message;
  if (!has(server.child().stderr_text(), "zero-copy sends on"))
    GTEST_SKIP() << "kernel without SENDMSG_ZC (Linux 6.1) or bundles (6.10)";
  reactor::SocketAddress addr;
  std::string e;
  ASSERT_TRUE(reactor::SocketAddress::parse("unix:" + path, &addr, &e)) << e;
  rt::Fd fd = rt::connect_to(addr, 5000, &e);
  ASSERT_TRUE(fd) << e;
  const std::string payload = rt::random_bytes(1 << 20, 21);
  rt::ExchangeResult x = rt::exchange(fd.get(), payload, payload.size(), 30000);
  ASSERT_TRUE(x.ok) << x.error;
  EXPECT_TRUE(x.received == payload) << "echo over the unix socket differs";
}

// Small messages used to lap the whole provided-buffer ring (the kernel takes entries in order),
// leaving the first page of each of its 1,024 buffers resident: 4 MiB after a few thousand
// messages, whatever the number of connections. Only a few warm buffers are published now.
TEST(UringRing, SmallMessagesKeepTheRingMostlyUntouched) {
  if (!reactor::io_uring_compiled_in()) GTEST_SKIP() << "built without liburing";
  rt::Reactord server;
  rt::Reactord::Options opts;
  opts.args = {"--backend",      "io_uring", "--threads", "1",
               "--idle-timeout", "0",        "--listen",  "echo=127.0.0.1:0"};
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
