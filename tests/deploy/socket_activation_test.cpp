// reactord started with listening sockets passed by a service manager: by
// systemd-socket-activate, and by this test through LISTEN_FDS/LISTEN_FDNAMES directly.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/deploy/deploy_support.h"

namespace deploy_test {
namespace {

constexpr milliseconds kWait{20000};

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

TEST(SocketActivation, SystemdSocketActivateEchoAndUpperByteExact) {
  if (!have_tool("systemd-socket-activate"))
    GTEST_SKIP() << "systemd-socket-activate not installed (scripts/deps.sh installs systemd)";
  TempDir dir;
  int echo_port = free_port();
  int upper_port = free_port();
  ASSERT_GT(echo_port, 0);
  ASSERT_GT(upper_port, 0);
  std::string tool_path;
  ASSERT_EQ(run_command("command -v systemd-socket-activate", &tool_path), 0);
  tool_path.erase(tool_path.find_last_not_of("\n") + 1);
  Child child({{tool_path, "-l", "127.0.0.1:" + std::to_string(echo_port), "-l",
                "127.0.0.1:" + std::to_string(upper_port), "--fdname=echo:upper", REACTORD_BIN,
                "--no-config", "--threads", "2"},
               {},
               {},
               dir.file("stderr")});
  // The tool binds, then waits for the first connection before it execs reactord.
  ASSERT_TRUE(child.wait_for_stderr("as 4", kWait)) << child.stderr_text();

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
  EXPECT_EQ(child.wait_exit(kWait), 0) << child.stderr_text();
}

// One socket and more loops than sockets: every loop shares it; many connections all echo.
TEST(SocketActivation, OneSocketSharedByAllLoops) {
  TempDir dir;
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  Child child({{REACTORD_BIN, "--no-config", "--threads", "3"},
               {{"LISTEN_FDS", "1"}, {"LISTEN_PID", "$PID"}, {"LISTEN_FDNAMES", "echo"}},
               {lfd},
               dir.file("stderr")});
  close(lfd);
  ASSERT_TRUE(child.wait_for_stderr("ready", kWait)) << child.stderr_text();
  EXPECT_EQ(listening_port(child.stderr_text(), "echo"), port);
  for (int i = 0; i < 24; ++i) {
    int fd = connect_loopback(port);
    ASSERT_GE(fd, 0);
    std::string payload = random_bytes(1000 + i * 313, i);
    EXPECT_EQ(roundtrip(fd, payload), payload) << "connection " << i;
    close(fd);
  }
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWait), 0) << child.stderr_text();
}

// A unix socket passed in belongs to the manager: reactord must not remove its path on exit,
// or the next activation would have nothing to connect to.
TEST(SocketActivation, UnixSocketPathSurvivesDrain) {
  TempDir dir;
  std::string path = dir.file("upper.sock");
  int lfd = listen_unix(path);
  ASSERT_GE(lfd, 0);
  Child child({{REACTORD_BIN, "--no-config", "--threads", "2"},
               {{"LISTEN_FDS", "1"}, {"LISTEN_PID", "$PID"}, {"LISTEN_FDNAMES", "upper"}},
               {lfd},
               dir.file("stderr")});
  ASSERT_TRUE(child.wait_for_stderr("ready", kWait)) << child.stderr_text();
  int fd = connect_unix(path);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(roundtrip(fd, "abc"), "ABC");
  close(fd);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWait), 0) << child.stderr_text();
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << "socket file removed";
  // Still listening (we hold the socket, as systemd would): a new instance could serve it.
  fd = connect_unix(path);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
  close(lfd);
}

TEST(SocketActivation, UnknownNameIsAConfigurationError) {
  TempDir dir;
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  Child child({{REACTORD_BIN, "--no-config"},
               {{"LISTEN_FDS", "1"}, {"LISTEN_PID", "$PID"}, {"LISTEN_FDNAMES", "gopher"}},
               {lfd},
               dir.file("stderr")});
  close(lfd);
  EXPECT_EQ(child.wait_exit(kWait), 2);
  EXPECT_NE(child.stderr_text().find("'gopher'"), std::string::npos) << child.stderr_text();
}

TEST(SocketActivation, ConnectedSocketIsRefused) {
  TempDir dir;
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  int conn = connect_loopback(port);  // like Accept=yes: a connection, not a listener
  ASSERT_GE(conn, 0);
  Child child({{REACTORD_BIN, "--no-config"},
               {{"LISTEN_FDS", "1"}, {"LISTEN_PID", "$PID"}, {"LISTEN_FDNAMES", "echo"}},
               {conn},
               dir.file("stderr")});
  EXPECT_EQ(child.wait_exit(kWait), 2);
  EXPECT_NE(child.stderr_text().find("not a listening stream socket"), std::string::npos)
      << child.stderr_text();
  close(conn);
  close(lfd);
}

// LISTEN_PID names another process: the variables are not for us, so the defaults apply.
TEST(SocketActivation, ForeignListenPidIsIgnored) {
  TempDir dir;
  int port = 0;
  int lfd = listen_loopback(&port);
  ASSERT_GE(lfd, 0);
  Child child({{REACTORD_BIN, "--no-config", "--listen", "upper=127.0.0.1:0"},
               {{"LISTEN_FDS", "1"}, {"LISTEN_PID", "1"}, {"LISTEN_FDNAMES", "echo"}},
               {lfd},
               dir.file("stderr")});
  close(lfd);
  ASSERT_TRUE(child.wait_for_stderr("ready", kWait)) << child.stderr_text();
  EXPECT_EQ(child.stderr_text().find("listening echo"), std::string::npos) << child.stderr_text();
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWait), 0);
}

}  // namespace
}  // namespace deploy_test
