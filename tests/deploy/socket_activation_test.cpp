// reactord started with listening sockets passed by a service manager: by
// systemd-socket-activate, and by this test through LISTEN_FDS/LISTEN_FDNAMES directly.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/deploy/deploy_support.h"
#include "tests/support/process.h"

namespace deploy_test {
namespace {

constexpr int kWaitMs = 20000;

// reactord given `fds` the way a service manager passes them: LISTEN_FDS, LISTEN_FDNAMES and
// LISTEN_PID (`listen_pid`: "$PID" for the child's own, else another process's).
rt::Reactord::Options activated(std::vector<std::string> args, std::vector<int> fds,
                                const std::string& names, const std::string& listen_pid = "$PID") {
  rt::Reactord::Options o;
  o.args = std::move(args);
  o.env = {{"LISTEN_FDS", std::to_string(fds.size())},
           {"LISTEN_PID", listen_pid},
           {"LISTEN_FDNAMES", names}};
  o.pass_fds = std::move(fds);
  o.timeout_ms = kWaitMs;
  return o;
}

// The same, run to completion (for passed sockets reactord must refuse).
rt::RunResult run_activated(const rt::Reactord::Options& o) {
  rt::Child::Options c;
  c.argv = {rt::reactord_path(), "--no-config"};
  c.argv.insert(c.argv.end(), o.args.begin(), o.args.end());
  c.env = o.env;
  c.pass_fds = o.pass_fds;
  return rt::run_process(c, "", kWaitMs);
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

TEST(SocketActivation, SystemdSocketActivateEchoAndUpperByteExact) {
  if (!have_tool("systemd-socket-activate"))
    GTEST_SKIP() << "systemd-socket-activate not installed (scripts/deps.sh installs systemd)";
  int echo_port = free_port();
  int upper_port = free_port();
  ASSERT_GT(echo_port, 0);
  ASSERT_GT(upper_port, 0);
  std::string tool_path;
  ASSERT_EQ(run_command("command -v systemd-socket-activate", &tool_path), 0);
  tool_path.erase(tool_path.find_last_not_of("\n") + 1);
  rt::Reactord server;
  rt::Reactord::Options opts;
  opts.launcher = {tool_path,
                   "-l",
                   "127.0.0.1:" + std::to_string(echo_port),
                   "-l",
                   "127.0.0.1:" + std::to_string(upper_port),
                   "--fdname=echo:upper"};
  opts.args = {"--threads", "2"};
  // The tool binds, then waits for the first connection before it execs reactord.
  opts.wait_ready = false;
  RT_START_REACTORD(server, opts);
  rt::Child& child = server.child();
  ASSERT_TRUE(child.wait_for_stderr("as 4", kWaitMs)) << child.stderr_text();

  std::string payload = random_bytes(256 * 1024, 7);
  int fd = connect_loopback(echo_port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(roundtrip(fd, payload), payload);
  close(fd);

  std::string text = "socket activation, upper case\n";
  fd = connect_loopback(upper_port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(roundtrip(fd, text), upper(text));
  close(fd);

  std::string err = child.stderr_text();
  EXPECT_NE(err.find("listening echo on 127.0.0.1:" + std::to_string(echo_port)), std::string::npos)
      << err;
  EXPECT_NE(err.find("listening upper on 127.0.0.1:" + std::to_string(upper_port)),
            std::string::npos)
      << err;
  // Activated: the default listeners (7000/7001) are not added.
  EXPECT_EQ(err.find("127.0.0.1:7000"), std::string::npos) << err;

  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0) << child.stderr_text();
}

// One socket and more loops than sockets: every loop shares it; many connections all echo.
TEST(SocketActivation, OneSocketSharedByAllLoops) {
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  rt::Reactord server;
  RT_START_REACTORD(server, activated({"--threads", "3"}, {lfd}, "echo"));
  close(lfd);
  rt::Child& child = server.child();
  ASSERT_TRUE(server.listener("echo")) << child.stderr_text();
  EXPECT_EQ(server.port("echo"), port);
  for (int i = 0; i < 24; ++i) {
    int fd = connect_loopback(port);
    ASSERT_GE(fd, 0);
    std::string payload = random_bytes(1000 + i * 313, i);
    EXPECT_EQ(roundtrip(fd, payload), payload) << "connection " << i;
    close(fd);
  }
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0) << child.stderr_text();
}

// A unix socket passed in belongs to the manager: reactord must not remove its path on exit,
// or the next activation would have nothing to connect to.
TEST(SocketActivation, UnixSocketPathSurvivesDrain) {
  TempDir dir;
  std::string path = dir.file("upper.sock");
  int lfd = listen_unix(path);
  ASSERT_GE(lfd, 0);
  rt::Reactord server;
  RT_START_REACTORD(server, activated({"--threads", "2"}, {lfd}, "upper"));
  rt::Child& child = server.child();
  int fd = connect_unix(path);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(roundtrip(fd, "abc"), "ABC");
  close(fd);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0) << child.stderr_text();
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << "socket file removed";
  // Still listening (we hold the socket, as systemd would): a new instance could serve it.
  fd = connect_unix(path);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
  close(lfd);
}

TEST(SocketActivation, UnknownNameIsAConfigurationError) {
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  rt::RunResult r = run_activated(activated({}, {lfd}, "gopher"));
  close(lfd);
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_NE(r.err.find("'gopher'"), std::string::npos) << r.err;
}

TEST(SocketActivation, ConnectedSocketIsRefused) {
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  int conn = connect_loopback(port);  // like Accept=yes: a connection, not a listener
  ASSERT_GE(conn, 0);
  rt::RunResult r = run_activated(activated({}, {conn}, "echo"));
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_NE(r.err.find("not a listening stream socket"), std::string::npos) << r.err;
  close(conn);
  close(lfd);
}

// LISTEN_PID names another process: the variables are not for us, so the defaults apply.
TEST(SocketActivation, ForeignListenPidIsIgnored) {
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  rt::Reactord server;
  RT_START_REACTORD(server, activated({"--listen", "upper=127.0.0.1:0"}, {lfd}, "echo", "1"));
  close(lfd);
  rt::Child& child = server.child();
  EXPECT_EQ(child.stderr_text().find("listening echo"), std::string::npos) << child.stderr_text();
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0);
}

}  // namespace
}  // namespace deploy_test
