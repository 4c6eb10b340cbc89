// The reactord and reactord-client command lines, end to end: usage errors (exit 2), start-up
// failures (exit 1), --help, the line client, and unix socket path handling.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "reactor/listener.h"
#include "tests/support/backends.h"
#include "tests/support/net.h"
#include "tests/support/payload.h"
#include "tests/support/process.h"

namespace {

using reactor::BackendKind;

class Cli : public testing::TestWithParam<BackendKind> {
 protected:
  // reactord --backend B ARGS..., run to completion.
  rt::RunResult reactord(const std::vector<std::string>& args, int timeout_ms = 30000) {
    std::vector<std::string> argv = {rt::reactord_path(), "--no-config", "--backend",
                                     reactor::backend_kind_name(GetParam())};
    argv.insert(argv.end(), args.begin(), args.end());
    return rt::run_process(argv, "", timeout_ms);
  }
  rt::RunResult client(const std::vector<std::string>& args, const std::string& input) {
    std::vector<std::string> argv = {rt::client_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return rt::run_process(argv, input, 30000);
  }
  // Skips (returns true) when the backend under test cannot run at all.
  bool backend_unavailable(const rt::RunResult& r) {
    return GetParam() == BackendKind::kIoUring && r.exit_code() == 1 &&
           rt::says_io_uring_unavailable(r.err);
  }
  rt::Reactord server_;
};

void expect_usage_error(const rt::RunResult& r, const std::vector<std::string>& mentions) {
  EXPECT_EQ(r.exit_code(), 2) << rt::describe_status(r.status) << "\nstderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
  for (const auto& m : mentions)
    EXPECT_NE(r.err.find(m), std::string::npos)
        << "stderr does not mention '" << m << "': " << r.err;
}

TEST_P(Cli, UnknownFlagExits2) {
  expect_usage_error(reactord({"--frobnicate"}), {"--frobnicate"});
  expect_usage_error(reactord({"--listen", "echo=127.0.0.1:0", "extra"}), {"extra"});
}

TEST_P(Cli, BadNumberExits2) {
  expect_usage_error(reactord({"--threads", "many"}), {"--threads", "many"});
  expect_usage_error(reactord({"--max-conns", "-3"}), {"--max-conns"});
  expect_usage_error(reactord({"--idle-timeout", "soon"}), {"--idle-timeout"});
  expect_usage_error(reactord({"--high-water", "12q"}), {"--high-water"});
  expect_usage_error(reactord({"--backlog"}), {"--backlog", "needs a value"});
}

TEST_P(Cli, UnknownProtocolExits2) {
  expect_usage_error(reactord({"--listen", "gopher=127.0.0.1:0"}), {"gopher", "echo", "upper"});
}

TEST_P(Cli, BadAddressExits2) {
  expect_usage_error(reactord({"--listen", "echo=127.0.0.1:99999"}), {"--listen", "port"});
  expect_usage_error(reactord({"--listen", "echo=no.such.host:1"}), {"--listen", "no.such.host"});
  expect_usage_error(reactord({"--listen", "echo=127.0.0.1"}), {"--listen"});
  expect_usage_error(reactord({"--listen", "echo"}), {"--listen"});
  // UDP has no unix-socket form: a usage error like any other bad address, not a bind failure.
  expect_usage_error(reactord({"--listen", "udp-echo=unix:/tmp/reactord-udp.sock"}),
                     {"--listen", "udp-echo=unix:/tmp/reactord-udp.sock", "HOST:PORT"});
}

// Positive timeouts below the 1 ms timer resolution would round to 0 ("off", or "at once").
TEST_P(Cli, SubMillisecondTimeoutExits2) {
  for (const char* flag : {"--idle-timeout", "--drain-timeout", "--header-timeout"})
    expect_usage_error(reactord({flag, "0.0004"}), {flag, "0.0004", "1 ms"});
}

TEST_P(Cli, BadBackendExits2) {
  expect_usage_error(rt::run_process({rt::reactord_path(), "--no-config", "--backend", "kqueue"}),
                     {"--backend", "kqueue"});
}

TEST_P(Cli, AddressInUseExits1) {
  // Held by a plain listening socket.
  rt::Fd holder(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(holder);
  auto any = rt::loopback4(0);
  ASSERT_EQ(::bind(holder.get(), any.get(), any.len), 0);
  ASSERT_EQ(::listen(holder.get(), 16), 0);
  int port = reactor::bound_address(holder.get()).port();
  rt::RunResult r = reactord({"--listen", "echo=127.0.0.1:" + std::to_string(port)});
  if (backend_unavailable(r)) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code(), 1) << rt::describe_status(r.status) << "\n" << r.err;
  EXPECT_NE(r.err.find("address in use"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::to_string(port)), std::string::npos) << r.err;
}

TEST_P(Cli, AddressInUseByAnotherReactordExits1) {
  // The first server's sockets use SO_REUSEPORT; a second one must not silently join them.
  RT_START_REACTORD(server_, GetParam(), {"--threads", "2", "--listen", "echo=127.0.0.1:0"});
  int port = server_.port("echo");
  rt::RunResult r = reactord({"--listen", "echo=127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(r.exit_code(), 1) << rt::describe_status(r.status) << "\n" << r.err;
  EXPECT_NE(r.err.find("address in use"), std::string::npos) << r.err;
  // The first server is unaffected.
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::ExchangeResult x = rt::exchange(fd.get(), "still mine", 10, 10000);
  ASSERT_TRUE(x.ok) << x.error;
  EXPECT_EQ(x.received, "still mine");
}

// udp-echo sockets use SO_REUSEPORT too: a second reactord on the same port must be refused,
// not silently take a share of the first one's datagrams.
TEST_P(Cli, UdpAddressInUseByAnotherReactordExits1) {
  RT_START_REACTORD(server_, GetParam(), {"--threads", "2", "--listen", "udp-echo=127.0.0.1:0"});
  const std::string addr = server_.address("udp-echo").to_string();
  rt::RunResult r = reactord({"--threads", "2", "--listen", "udp-echo=" + addr}, 10000);
  EXPECT_FALSE(r.timed_out) << "the second reactord started on " << addr;
  EXPECT_EQ(r.exit_code(), 1) << rt::describe_status(r.status) << "\n" << r.err;
  EXPECT_NE(r.err.find("cannot listen udp-echo on " + addr + ": address in use"), std::string::npos)
      << r.err;
  // The first server still answers.
  rt::Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  reactor::SocketAddress to = server_.address("udp-echo");
  ASSERT_EQ(::connect(fd.get(), to.get(), to.len), 0);
  std::string got;
  for (int attempt = 0; attempt < 10 && got.empty(); ++attempt) {
    ASSERT_EQ(::send(fd.get(), "still mine", 10, 0), 10);
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) == 1) {
      char buf[64];
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n > 0) got.assign(buf, static_cast<size_t>(n));
    }
  }
  EXPECT_EQ(got, "still mine");
}

TEST_P(Cli, HelpExits0AndMentionsEveryFlag) {
  rt::RunResult r = reactord({"--help"});
  EXPECT_EQ(r.exit_code(), 0) << rt::describe_status(r.status);
  for (const char* flag : {"--listen", "--threads", "--pin", "--backend", "--backlog",
                           "--max-conns", "--idle-timeout", "--drain-timeout", "--high-water",
                           "--low-water", "--linger-reset", "--log-level", "--help", "--version"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << " missing from --help";
  EXPECT_NE(r.out.find("echo|upper"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

// --version names the CMake project version and what was compiled in; -v is the same, and
// reactord-client reports the same version.
TEST_P(Cli, VersionNamesTheBuild) {
  rt::RunResult v = reactord({"--version"});
  EXPECT_EQ(v.exit_code(), 0);
  std::smatch m;
  const bool uring = reactor::io_uring_compiled_in();
  std::regex shape(std::string("reactord (\\d+\\.\\d+\\.\\d+)\n") +
                   (uring ? "backends: epoll,io_uring\nliburing: \\d+\\.\\d+.*\n"
                          : "backends: epoll\nliburing: no\n") +
                   "systemd: (libsystemd \\d+|built-in .*)\ndefault config: /.*\n");
  ASSERT_TRUE(std::regex_match(v.out, m, shape)) << v.out;
  EXPECT_EQ(reactord({"-v"}).out, v.out);
  rt::RunResult c = client({"--version"}, "");
  EXPECT_EQ(c.exit_code(), 0);
  EXPECT_EQ(c.out, "reactord-client " + m[1].str() + "\n");
  EXPECT_EQ(client({"-v"}, "").out, c.out);
}

TEST_P(Cli, ClientUpperPrintsExactlyHI) {
  RT_START_REACTORD(server_, GetParam(), {"--listen", "upper=127.0.0.1:0"});
  rt::RunResult r = client({server_.address("upper").to_string()}, "hi\n");
  EXPECT_EQ(r.exit_code(), 0) << rt::describe_status(r.status) << "\n" << r.err;
  EXPECT_EQ(r.out, "HI\n");
  EXPECT_TRUE(r.err.empty()) << r.err;
}

// The server closes (here: its idle timeout) while the client waits for a typed line: the
// client says so and exits at once, without waiting for stdin.
TEST_P(Cli, ClientReportsAServerCloseAtOnce) {
  RT_START_REACTORD(server_, GetParam(),
                    {"--listen", "upper=127.0.0.1:0", "--idle-timeout", "0.3"});
  const std::string addr = server_.address("upper").to_string();
  rt::Child c;
  std::string error;
  ASSERT_TRUE(c.start({.argv = {rt::client_path(), addr}, .stdin_pipe = true}, &error)) << error;
  ASSERT_TRUE(c.write_stdin("hi\n"));
  std::optional<int> code = c.wait_exit(10000);  // stdin stays open all along
  ASSERT_TRUE(code.has_value()) << "still waiting for stdin after the server closed";
  EXPECT_EQ(*code, 1);
  EXPECT_EQ(c.stdout_text(), "HI\n");
  EXPECT_EQ(c.stderr_text(), "reactord-client: " + addr + " closed the connection\n");
}

// On a terminal (script(1) gives it one) each line is prompted for with the address.
TEST_P(Cli, ClientPromptsOnATerminal) {
  if (access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "script (util-linux) not installed";
  RT_START_REACTORD(server_, GetParam(), {"--listen", "upper=127.0.0.1:0"});
  const std::string addr = server_.address("upper").to_string();
  rt::RunResult r = rt::run_process(
      {"/usr/bin/script", "-qec", std::string(rt::client_path()) + " " + addr, "/dev/null"},
      "abc\n");
  // The terminal echoes the typed line; the prompt comes before and after the reply.
  EXPECT_NE(r.out.find(addr + "> "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ABC\r\n" + addr + "> "), std::string::npos) << r.out;
  // From a pipe there is no prompt.
  rt::RunResult piped = client({addr}, "abc\n");
  EXPECT_EQ(piped.out, "ABC\n");
}

TEST_P(Cli, ClientSkipsEmptyLines) {
  RT_START_REACTORD(server_, GetParam(), {"--listen", "upper=127.0.0.1:0"});
  rt::RunResult r =
      client({server_.address("upper").to_string()}, "\nabc\n\n\nMixed Case 123\r\n\r\nlast");
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "ABC\nMIXED CASE 123\nLAST\n");
}

TEST_P(Cli, ClientManyLinesAgainstEcho) {
  RT_START_REACTORD(server_, GetParam(), {"--listen", "echo=127.0.0.1:0"});
  std::string input, expect;
  for (int i = 0; i < 2000; ++i) {
    std::string line = "line " + std::to_string(i) + " " + std::string(i % 97, 'x');
    input += line + "\n";
    expect += line + "\n";
  }
  rt::RunResult r = client({server_.address("echo").to_string()}, input);
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_TRUE(r.out == expect) << "output differs (" << r.out.size() << " vs " << expect.size()
                               << " bytes)";
}

TEST_P(Cli, ClientOverUnixSocket) {
  rt::TempDir dir;
  RT_START_REACTORD(server_, GetParam(), {"--listen", "upper=unix:" + dir.file("u.sock")});
  rt::RunResult r = client({"unix:" + dir.file("u.sock")}, "unix works\n");
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "UNIX WORKS\n");
}

TEST_P(Cli, ClientCannotConnectExits1) {
  int port = -1;
  rt::Fd reserved = rt::reserve_refusing_port(&port);
  ASSERT_TRUE(reserved);
  rt::RunResult r = client({"127.0.0.1:" + std::to_string(port)}, "hi\n");
  EXPECT_EQ(r.exit_code(), 1) << rt::describe_status(r.status);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_P(Cli, ClientUsageErrors) {
  rt::RunResult none = client({}, "");
  EXPECT_EQ(none.exit_code(), 2);
  EXPECT_NE(none.err.find("usage"), std::string::npos) << none.err;
  rt::RunResult bad = client({"not-an-address"}, "");
  EXPECT_EQ(bad.exit_code(), 2);
  EXPECT_FALSE(bad.err.empty());
  rt::RunResult help = client({"--help"}, "");
  EXPECT_EQ(help.exit_code(), 0);
  EXPECT_NE(help.out.find("usage"), std::string::npos);
}

TEST_P(Cli, StaleUnixSocketFromKilledServerIsReplaced) {
  rt::TempDir dir;
  std::string path = dir.file("s.sock");
  {
    rt::Reactord first;
    RT_START_REACTORD(first, GetParam(), {"--listen", "echo=unix:" + path});
    first.child().signal(SIGKILL);
    auto st = first.child().wait(10000);
    ASSERT_TRUE(st.has_value());
    ASSERT_TRUE(WIFSIGNALED(*st));
  }
  struct stat sb;
  ASSERT_EQ(lstat(path.c_str(), &sb), 0) << "SIGKILL should leave the socket file behind";
  ASSERT_TRUE(S_ISSOCK(sb.st_mode));
  RT_START_REACTORD(server_, GetParam(), {"--listen", "echo=unix:" + path});
  std::string err;
  rt::Fd fd = rt::connect_to(rt::parse_address("unix:" + path), 10000, &err);
  ASSERT_TRUE(fd) << err;
  std::string payload = rt::random_bytes(70'000, 70);
  rt::ExchangeResult r = rt::exchange(fd.get(), payload, payload.size(), 10000, true, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.received == payload);
}

TEST_P(Cli, UnixPathThatIsARegularFileIsRefusedAndKept) {
  rt::TempDir dir;
  std::string path = dir.file("precious.txt");
  const std::string content = "do not delete me\n";
  {
    std::ofstream f(path);
    f << content;
  }
  rt::RunResult r = reactord({"--listen", "echo=unix:" + path});
  if (backend_unavailable(r)) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code(), 1) << rt::describe_status(r.status) << "\n" << r.err;
  EXPECT_NE(r.err.find("not a socket"), std::string::npos) << r.err;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), content) << "the file was modified or removed";
}

TEST_P(Cli, UnixPathServedByLiveServerIsRefused) {
  rt::TempDir dir;
  std::string path = dir.file("s.sock");
  RT_START_REACTORD(server_, GetParam(), {"--listen", "echo=unix:" + path});
  rt::RunResult r = reactord({"--listen", "echo=unix:" + path});
  EXPECT_EQ(r.exit_code(), 1) << rt::describe_status(r.status) << "\n" << r.err;
  EXPECT_NE(r.err.find("another process is serving"), std::string::npos) << r.err;
  // The live server's socket file survived the attempt.
  std::string err;
  rt::Fd fd = rt::connect_to(rt::parse_address("unix:" + path), 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::ExchangeResult x = rt::exchange(fd.get(), "alive", 5, 10000);
  ASSERT_TRUE(x.ok) << x.error;
  EXPECT_EQ(x.received, "alive");
}

INSTANTIATE_TEST_SUITE_P(Backends, Cli, testing::ValuesIn(rt::kAllBackends), rt::BackendName());

}  // namespace
