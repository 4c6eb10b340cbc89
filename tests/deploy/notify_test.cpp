// reactord's sd_notify messages, received on a fake NOTIFY_SOCKET (a unix datagram socket in a
// temp dir): READY=1 with STATUS, WATCHDOG=1 pings, RELOADING=1 around SIGHUP, STOPPING=1.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "tests/deploy/deploy_support.h"
#include "tests/support/process.h"

namespace deploy_test {
namespace {

constexpr milliseconds kWait{20000};
constexpr int kWaitMs = 20000;

// reactord with a notify socket (and `env`): start() returns at once, since each test waits
// for READY=1 itself.
rt::Reactord::Options notifying(std::vector<std::string> args,
                                std::vector<std::pair<std::string, std::string>> env) {
  rt::Reactord::Options o;
  o.args = std::move(args);
  o.env = std::move(env);
  o.wait_ready = false;
  o.timeout_ms = kWaitMs;
  return o;
}

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~NotifySocket() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // Receives datagrams until one contains `needle` (returns true) or the timeout passes.
  bool wait_for(std::string_view needle, milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      messages.emplace_back(buf, static_cast<size_t>(n));
      if (messages.back().find(needle) != std::string::npos) return true;
    }
  }
  // Index of the first message at or after `from` with a line equal to or starting with
  // `line`; -1 when none.
  int find(std::string_view line, int from = 0) const {
    for (size_t i = static_cast<size_t>(from); i < messages.size(); ++i) {
      std::string m = "\n" + messages[i] + "\n";
      if (m.find("\n" + std::string(line)) != std::string::npos) return static_cast<int>(i);
    }
    return -1;
  }
  std::string dump() const {
    std::string s;
    for (const auto& m : messages) s += "[" + m + "] ";
    return s;
  }
  std::vector<std::string> messages;

 private:
  int fd_ = -1;
};

TEST(Notify, ReadyStatusWatchdogReloadingStoppingInOrder) {
  TempDir dir;
  std::string path = dir.file("notify.sock");
  NotifySocket notify(path);
  ASSERT_TRUE(notify.ok());
  std::string config = dir.write("reactord.toml", "idle-timeout = 30\n");
  rt::Reactord server;
  rt::Reactord::Options opts =
      notifying({"--config", config, "--listen", "echo=127.0.0.1:0", "--threads", "2"},
                {{"NOTIFY_SOCKET", path}, {"WATCHDOG_USEC", "200000"}, {"WATCHDOG_PID", "$PID"}});
  opts.no_config = false;
  opts.log_level = "";
  RT_START_REACTORD(server, opts);
  rt::Child& child = server.child();

  ASSERT_TRUE(notify.wait_for("READY=1", kWait)) << notify.dump() << child.stderr_text();
  // READY=1 only once the listener is bound: it must accept and echo right away. (Its
  // "listening" line was written before READY=1; reading it from the pipe may take a moment.)
  std::optional<reactor::SocketAddress> echo = server.listener("echo", kWaitMs);
  ASSERT_TRUE(echo) << child.stderr_text();
  int port = echo->port();
  ASSERT_GT(port, 0) << child.stderr_text();
  int fd = connect_loopback(port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "ping", 4, 0), 4);
  char buf[4];
  ASSERT_EQ(recv(fd, buf, 4, MSG_WAITALL), 4);

  // The open connection shows in STATUS=; pings follow READY=1 (interval WATCHDOG_USEC/2).
  ASSERT_TRUE(notify.wait_for("STATUS=1 connection", kWait)) << notify.dump();
  ASSERT_TRUE(notify.wait_for("WATCHDOG=1", kWait)) << notify.dump();
  close(fd);

  child.signal(SIGHUP);
  ASSERT_TRUE(notify.wait_for("RELOADING=1", kWait)) << notify.dump();
  ASSERT_TRUE(notify.wait_for("READY=1", kWait)) << notify.dump();

  child.signal(SIGTERM);
  ASSERT_TRUE(notify.wait_for("STOPPING=1", kWait)) << notify.dump();
  EXPECT_EQ(child.wait_exit(kWaitMs), 0) << child.stderr_text();

  int ready = notify.find("READY=1");
  int status = notify.find("STATUS=");
  int watchdog = notify.find("WATCHDOG=1");
  int reloading = notify.find("RELOADING=1");
  int ready_again = notify.find("READY=1", reloading);
  int stopping = notify.find("STOPPING=1");
  EXPECT_EQ(ready, 0) << notify.dump();  // nothing before READY=1
  EXPECT_EQ(status, 0) << "READY=1 carries the first STATUS=: " << notify.dump();
  EXPECT_NE(notify.messages[0].find("backend "), std::string::npos) << notify.dump();
  EXPECT_GT(watchdog, ready) << notify.dump();
  EXPECT_GT(reloading, watchdog) << notify.dump();
  EXPECT_GT(ready_again, reloading) << notify.dump();
  EXPECT_GT(stopping, ready_again) << notify.dump();
  EXPECT_EQ(notify.find("READY=1", stopping), -1) << notify.dump();
}

// Without WATCHDOG_USEC there is no watchdog: READY=1 and STOPPING=1 but no pings.
TEST(Notify, NoWatchdogWithoutWatchdogUsec) {
  TempDir dir;
  std::string path = dir.file("notify.sock");
  NotifySocket notify(path);
  ASSERT_TRUE(notify.ok());
  rt::Reactord server;
  RT_START_REACTORD(server, notifying({"--listen", "echo=127.0.0.1:0"}, {{"NOTIFY_SOCKET", path}}));
  rt::Child& child = server.child();
  ASSERT_TRUE(notify.wait_for("READY=1", kWait)) << notify.dump();
  child.signal(SIGTERM);
  ASSERT_TRUE(notify.wait_for("STOPPING=1", kWait)) << notify.dump();
  EXPECT_EQ(child.wait_exit(kWaitMs), 0);
  EXPECT_EQ(notify.find("WATCHDOG=1"), -1) << notify.dump();
}

// WATCHDOG_PID names another process: the watchdog is not ours to feed.
TEST(Notify, WatchdogForAnotherPidIsIgnored) {
  TempDir dir;
  std::string path = dir.file("notify.sock");
  NotifySocket notify(path);
  ASSERT_TRUE(notify.ok());
  rt::Reactord server;
  RT_START_REACTORD(
      server,
      notifying({"--listen", "echo=127.0.0.1:0"},
                {{"NOTIFY_SOCKET", path}, {"WATCHDOG_USEC", "100000"}, {"WATCHDOG_PID", "1"}}));
  rt::Child& child = server.child();
  ASSERT_TRUE(notify.wait_for("READY=1", kWait)) << notify.dump();
  // Several would-be ping periods pass (1 s status ticks) before we stop it.
  EXPECT_FALSE(notify.wait_for("WATCHDOG=1", milliseconds(600))) << notify.dump();
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0);
}

}  // namespace
}  // namespace deploy_test
