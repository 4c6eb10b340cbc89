// The TOML config file: good and bad files (exit 2 naming key and line), the command line
// overriding the file, and SIGHUP applying live settings to a running reactord.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/deploy/deploy_support.h"
#include "tests/support/process.h"

namespace deploy_test {
namespace {

constexpr milliseconds kWait{20000};
constexpr int kWaitMs = 20000;

struct RunResult {
  int exit_code;
  std::string stderr_text;
  std::string stdout_text;
};

// Runs reactord to completion (for invocations that exit at once: errors, --check-config).
RunResult run_reactord(std::vector<std::string> args) {
  args.insert(args.begin(), rt::reactord_path());
  rt::RunResult r = rt::run_process(args, "", kWaitMs);
  return {r.exit_code(), r.err, r.out};
}

// reactord reading `config` (no --log-level: the file's, or the default, applies).
rt::Reactord::Options with_config(const std::string& config, std::vector<std::string> args = {}) {
  rt::Reactord::Options o;
  o.args = {"--config", config};
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.no_config = false;
  o.log_level = "";
  o.timeout_ms = kWaitMs;
  return o;
}

// The port of reactord's first `proto` listener, 0 if it reported none.
int listening_port(const rt::Reactord& server, const std::string& proto) {
  std::optional<reactor::SocketAddress> a = server.listener(proto);
  return a ? a->port() : 0;
}

TEST(ConfigFile, UnknownKeyExits2NamingKeyAndLine) {
  TempDir dir;
  std::string path = dir.write("r.toml",
                               "# reactord\n"
                               "threads = 1\n"
                               "idle-timout = 5\n");
  RunResult r = run_reactord({"--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find(path + ":3: idle-timout: unknown key\n"), std::string::npos)
      << r.stderr_text;
}

// -t reports every error in the file at once, one "FILE:LINE: key: reason" log line each, and
// changes nothing else (exit 2, nothing on stdout).
TEST(ConfigFile, CheckReportsEveryErrorAtOnce) {
  TempDir dir;
  std::string path = dir.write("r.toml",
                               "threads = 1\n"
                               "idle-timout = 5\n"
                               "max-conns = -5\n"
                               "pin = \"yes\"\n"
                               "backlog = 10\n"
                               "listen = [[\"echo=127.0.0.1:0\"]]\n");
  RunResult r = run_reactord({"-t", "-c", path});
  EXPECT_EQ(r.exit_code, 2);
  std::vector<std::string> errors;
  std::istringstream lines(r.stderr_text);
  for (std::string l; std::getline(lines, l);) {
    size_t at = l.find(" reactord: error: ");
    ASSERT_NE(at, std::string::npos) << l;
    errors.push_back(l.substr(at + 18));
  }
  const std::vector<std::string> want = {
      path + ":2: idle-timout: unknown key",
      path + ":3: max-conns: '-5' is not a number in 0..100000000",
      path + ":4: pin: want true or false",
      path + ":6: listen: want a string",
  };
  EXPECT_EQ(errors, want) << r.stderr_text;

  std::string good = dir.write("good.toml", "threads = 1\nlisten = [\"echo=127.0.0.1:0\"]\n");
  RunResult ok = run_reactord({"-t", "-c", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.stderr_text;
  EXPECT_EQ(ok.stdout_text, "reactord: configuration OK (" + good + ")\n");
}

TEST(ConfigFile, BadValueExits2NamingKeyAndLine) {
  TempDir dir;
  struct Case {
    const char* text;
    const char* key;
  };
  const Case cases[] = {
      {"\nmax-conns = -5\n", "max-conns"},
      {"\nidle-timeout = \"soon\"\n", "idle-timeout"},
      {"\nlog-level = \"loud\"\n", "log-level"},
      {"\npin = \"yes\"\n", "pin"},
      {"\nhigh-water = \"1q\"\n", "high-water"},
      {"\nlisten = [\"gopher=127.0.0.1:70\"]\n", "listen"},
      {"\nthreads = [1, 2]\n", "threads"},
  };
  for (const Case& c : cases) {
    std::string path = dir.write("r.toml", c.text);
    RunResult r = run_reactord({"--config", path});
    EXPECT_EQ(r.exit_code, 2) << c.text;
    EXPECT_NE(r.stderr_text.find(path + ":2: " + c.key + ":"), std::string::npos)
        << c.text << " -> " << r.stderr_text;
  }
}

TEST(ConfigFile, SyntaxErrorExits2WithLine) {
  TempDir dir;
  std::string path = dir.write("r.toml", "threads = 1\nbacklog = = 3\n");
  RunResult r = run_reactord({"--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find(path + ":2:"), std::string::npos) << r.stderr_text;
}

TEST(ConfigFile, MissingExplicitFileExits2) {
  TempDir dir;
  RunResult r = run_reactord({"--config", dir.file("absent.toml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("absent.toml"), std::string::npos) << r.stderr_text;
}

// A directory opens like a file and reads as nothing: it must not pass for an empty config.
TEST(ConfigFile, DirectoryExits2NamingThePath) {
  TempDir dir;
  std::string path = dir.file("conf.d");
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0) << strerror(errno);
  for (const char* extra : {"", "--check-config"}) {
    std::vector<std::string> args = {"--config", path, "--listen", "echo=127.0.0.1:0"};
    if (*extra) args.push_back(extra);
    RunResult r = run_reactord(args);
    EXPECT_EQ(r.exit_code, 2) << extra << ": " << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("cannot read config file " + path), std::string::npos)
        << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("directory"), std::string::npos) << r.stderr_text;
  }
}

// A file that opens but cannot be read: /proc/self/mem fails its first read with EIO even for
// root; a mode-000 file does the same for anyone else.
TEST(ConfigFile, UnreadableFileExits2NamingThePath) {
  TempDir dir;
  std::vector<std::string> paths = {"/proc/self/mem"};
  if (geteuid() != 0) {
    std::string locked = dir.write("locked.toml", "threads = 1\n");
    ASSERT_EQ(chmod(locked.c_str(), 0), 0);
    paths.push_back(locked);
  }
  for (const std::string& path : paths) {
    RunResult r = run_reactord({"--config", path, "--listen", "echo=127.0.0.1:0"});
    EXPECT_EQ(r.exit_code, 2) << path << ": " << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("cannot read config file " + path + ": "), std::string::npos)
        << r.stderr_text;
  }
}

TEST(ConfigFile, CheckConfigAcceptsTheShippedFile) {
  RunResult r =
      run_reactord({"--config", REACTORD_SOURCE_DIR "/deploy/reactord.toml", "--check-config"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
}

TEST(ConfigFile, SettingsFromTheFileAreUsed) {
  TempDir dir;
  std::string path = dir.write("r.toml",
                               "listen = [\"upper=127.0.0.1:0\"]\n"
                               "threads = 1\n");
  rt::Reactord server;
  RT_START_REACTORD(server, with_config(path));
  std::string err = server.child().stderr_text();
  EXPECT_NE(err.find("1 thread,"), std::string::npos) << err;
  int port = listening_port(server, "upper");
  ASSERT_GT(port, 0) << err;
  int fd = connect_loopback(port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(roundtrip(fd, "from the file"), "FROM THE FILE");
  close(fd);
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait_exit(kWaitMs), 0);
}

TEST(ConfigFile, CommandLineOverridesTheFile) {
  TempDir dir;
  std::string path = dir.write("r.toml",
                               "listen = [\"upper=127.0.0.1:0\"]\n"
                               "threads = 1\n");
  rt::Reactord server;
  RT_START_REACTORD(server, with_config(path, {"--threads", "2", "--listen", "echo=127.0.0.1:0"}));
  std::string err = server.child().stderr_text();
  EXPECT_NE(err.find("2 threads"), std::string::npos) << err;
  // A repeatable key given on the command line replaces the file's list.
  EXPECT_GT(listening_port(server, "echo"), 0) << err;
  EXPECT_EQ(listening_port(server, "upper"), 0) << err;
  server.child().signal(SIGTERM);
  EXPECT_EQ(server.child().wait_exit(kWaitMs), 0);
}

// SIGHUP re-reads the file. A broken file is rejected as a whole (the server keeps serving
// with what it had); then idle-timeout 0 (never) -> 1 s: a connection opened before the reload,
// and idle since, is closed by the server. threads changes too: logged as needing a restart.
// A file with two faults: two error lines, each whole (under journald a second line of one
// message would lose its error priority).
TEST(ConfigReload, EachFaultIsItsOwnErrorLine) {
  TempDir dir;
  std::string path = dir.write("r.toml", "listen = [\"echo=127.0.0.1:0\"]\n");
  rt::Reactord server;
  RT_START_REACTORD(server, with_config(path));
  rt::Child& child = server.child();
  dir.write("r.toml", "listen = [\"echo=127.0.0.1:0\"]\nbogus = 1\npin = \"yes\"\n");
  child.signal(SIGHUP);
  ASSERT_TRUE(child.wait_for_stderr(path + ":3: pin:", kWaitMs)) << child.stderr_text();
  std::vector<std::string> failed;
  for (const std::string& l : child.stderr_lines())
    if (l.find("reload failed") != std::string::npos)
      failed.push_back(l.substr(l.find(" error: ")));
  const std::string prefix = " error: SIGHUP: reload failed, keeping the settings in force: ";
  EXPECT_EQ(failed, (std::vector<std::string>{prefix + path + ":2: bogus: unknown key",
                                              prefix + path + ":3: pin: want true or false"}))
      << child.stderr_text();
}

TEST(ConfigReload, SighupAppliesIdleTimeoutToOpenConnections) {
  TempDir dir;
  const std::string head = "listen = [\"echo=127.0.0.1:0\"]\nthreads = 2\n";
  std::string path = dir.write("r.toml", head + "idle-timeout = 0\n");
  rt::Reactord server;
  RT_START_REACTORD(server, with_config(path));
  rt::Child& child = server.child();
  int port = listening_port(server, "echo");
  ASSERT_GT(port, 0);
  int fd = connect_loopback(port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, "x", 1, 0), 1);
  char c;
  ASSERT_EQ(recv(fd, &c, 1, 0), 1);  // served, so it is open on the server

  dir.write("r.toml", head + "idle-timeout = \"never\"\n");
  child.signal(SIGHUP);
  ASSERT_TRUE(child.wait_for_stderr("reload failed", kWaitMs)) << child.stderr_text();
  EXPECT_NE(child.stderr_text().find(path + ":3: idle-timeout:"), std::string::npos)
      << child.stderr_text();
  int other = connect_loopback(port);
  ASSERT_GE(other, 0);
  EXPECT_EQ(roundtrip(other, "still here"), "still here");
  close(other);

  dir.write("r.toml",
            "listen = [\"echo=127.0.0.1:0\"]\n"
            "threads = 3\n"
            "idle-timeout = 1\n"
            "log-level = \"debug\"\n");
  child.signal(SIGHUP);
  ASSERT_TRUE(child.wait_for_stderr("reload: idle-timeout 0 -> 1", kWaitMs)) << child.stderr_text();
  EXPECT_TRUE(child.wait_for_stderr("reload: log-level info -> debug", kWaitMs));
  EXPECT_TRUE(
      child.wait_for_stderr("reload: threads changed (2 -> 3) but needs a restart", kWaitMs))
      << child.stderr_text();
  EXPECT_TRUE(wait_eof(fd, kWait)) << "idle connection not closed after the reload";
  close(fd);

  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0) << child.stderr_text();
}

// The config file turns into a directory: SIGHUP must keep max-conns 1 (not reset it to
// "unlimited", the default) and say why. A second connection is still refused at once.
TEST(ConfigReload, SighupWithUnreadableFileKeepsTheSettings) {
  TempDir dir;
  std::string path = dir.write("r.toml",
                               "listen = [\"echo=127.0.0.1:0\"]\n"
                               "threads = 1\n"
                               "max-conns = 1\n");
  rt::Reactord server;
  RT_START_REACTORD(server, with_config(path));
  rt::Child& child = server.child();
  int port = listening_port(server, "echo");
  ASSERT_GT(port, 0);

  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
  child.signal(SIGHUP);
  ASSERT_TRUE(child.wait_for_stderr("reload failed", kWaitMs)) << child.stderr_text();
  std::string err = child.stderr_text();
  EXPECT_NE(err.find("cannot read config file " + path), std::string::npos) << err;
  EXPECT_EQ(err.find("reload: max-conns"), std::string::npos) << err;

  int first = connect_loopback(port);
  ASSERT_GE(first, 0);
  // Served (so open on the server) and kept open: roundtrip() would half-close it.
  ASSERT_EQ(send(first, "1", 1, 0), 1);
  char c;
  ASSERT_EQ(recv(first, &c, 1, 0), 1);
  int second = connect_loopback(port);
  ASSERT_GE(second, 0);
  EXPECT_TRUE(wait_eof(second, kWait)) << "max-conns 1 no longer applies after the reload";
  close(second);
  close(first);
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0) << child.stderr_text();
}

TEST(ConfigReload, SighupWithoutConfigFileChangesNothing) {
  rt::Reactord server;
  rt::Reactord::Options opts;
  opts.args = {"--listen", "echo=127.0.0.1:0"};
  opts.timeout_ms = kWaitMs;
  RT_START_REACTORD(server, opts);
  rt::Child& child = server.child();
  child.signal(SIGHUP);
  EXPECT_TRUE(child.wait_for_stderr("nothing to reload", kWaitMs)) << child.stderr_text();
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0);
}

TEST(Rlimit, SoftNofileRaisedToHardAndLogged) {
  rt::Reactord server;
  rt::Reactord::Options opts;
  opts.launcher = {"/bin/sh", "-c", "ulimit -S -n 256 && exec \"$@\"", "sh"};
  opts.args = {"--listen", "echo=127.0.0.1:0"};
  opts.timeout_ms = kWaitMs;
  RT_START_REACTORD(server, opts);
  rt::Child& child = server.child();
  std::string err = child.stderr_text();
  std::string hard;
  ASSERT_EQ(run_command("ulimit -H -n", &hard), 0);
  hard.erase(hard.find_last_not_of("\n") + 1);
  if (hard == "256") {
    EXPECT_NE(err.find("RLIMIT_NOFILE: soft limit 256, hard limit 256"), std::string::npos) << err;
  } else {
    EXPECT_NE(err.find("RLIMIT_NOFILE: soft limit raised from 256 to " + hard), std::string::npos)
        << err;
  }
  child.signal(SIGTERM);
  EXPECT_EQ(child.wait_exit(kWaitMs), 0);
}

}  // namespace
}  // namespace deploy_test
