// Spawning processes for tests, and the one way to start reactord as a server (Reactord):
// stderr/stdout captured line by line by reader threads, a chosen environment and passed
// descriptors (socket activation), waits bounded by timeouts, exit statuses, /proc/PID readings.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "reactor/backend_kind.h"
#include "reactor/socket_address.h"

namespace rt {

// Paths of the binaries under test (compile definitions from tests/CMakeLists.txt).
inline const char* reactord_path() {
  return REACTORD_BIN;
}
inline const char* client_path() {
  return REACTORD_CLIENT_BIN;
}

// "exit 0", "exit 2", "signal 9 (Killed)", ...
std::string describe_status(int wait_status);

// One child process. Its stdout and stderr are pipes drained by reader threads (so a chatty
// child never blocks); stdin is a pipe when asked for, else /dev/null. It inherits no other
// descriptor but pass_fds, and our environment without NOTIFY_SOCKET, LISTEN_* and WATCHDOG_*
// (ctest itself may run under systemd: those are never meant for the child).
class Child {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is the path to execute
    rlim_t nofile = 0;              // when > 0: RLIMIT_NOFILE soft = hard = nofile in the child
    bool stdin_pipe = false;
    // Added to the environment; the value "$PID" becomes the child's pid (LISTEN_PID).
    std::vector<std::pair<std::string, std::string>> env = {};
    std::vector<int> pass_fds = {};  // the child gets these as descriptors 3, 4, ... in order
  };

  Child() = default;
  ~Child();  // SIGKILLs and reaps a child still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool start(const Options& opts, std::string* error);
  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // Waits until some stderr line satisfies `pred` (true; the line in *line) or the child's
  // stderr closes / the timeout passes (false).
  bool wait_for_stderr(const std::function<bool(const std::string&)>& pred, int timeout_ms,
                       std::string* line = nullptr) const;
  // Waits until some stderr line contains `needle`.
  bool wait_for_stderr(std::string_view needle, int timeout_ms) const;
  std::vector<std::string> stderr_lines() const;
  std::string stderr_text() const;
  std::string stdout_text() const;

  bool write_stdin(const std::string& data);
  void close_stdin();

  void signal(int sig);
  // Reaps the child, waiting at most timeout_ms; the raw wait status, or nullopt on timeout.
  std::optional<int> wait(int timeout_ms);
  // As wait(), but the exit code, or 128 + the signal number when a signal ended it.
  std::optional<int> wait_exit(int timeout_ms);
  bool running();  // not yet reaped, and not exited
  std::optional<int> status() const { return status_; }

 private:
  struct Stream {
    int fd = -1;
    std::string text;
    std::vector<std::string> lines;
    std::string partial;
    bool closed = false;
    std::thread reader;
  };
  void read_loop(Stream* s);
  void join_readers();

  pid_t pid_ = -1;
  std::optional<int> status_;
  int stdin_fd_ = -1;
  Stream out_;
  Stream err_;
  mutable std::mutex mu_;  // guards the streams' text, lines and closed flags
  mutable std::condition_variable cv_;
};

// Runs a command to completion: stdin fed from `input`, stdout/stderr captured. A child still
// running at the timeout is killed, and timed_out is set.
struct RunResult {
  int status = -1;  // raw wait status
  bool timed_out = false;
  std::string out;
  std::string err;
  bool exited() const;
  int exit_code() const;  // -1 unless exited normally
};
RunResult run_process(const std::vector<std::string>& argv, const std::string& input = "",
                      int timeout_ms = 30000);
RunResult run_process(Child::Options opts, const std::string& input = "", int timeout_ms = 30000);

// The reactord binary under test, started as a server: every test that runs reactord until it
// is told to stop starts it here. start() waits for the "ready" line; the listeners are read
// from the "listening PROTO on ADDR" lines.
class Reactord {
 public:
  enum class Start { kReady, kSkip, kFail };
  struct StartResult {
    Start kind = Start::kFail;
    std::string message;
  };
  struct Options {
    std::vector<std::string> args = {};
    // --backend NAME; none: reactord picks (io_uring when it can, else epoll). An io_uring
    // start that fails because the backend is unavailable is a skip, not a failure.
    std::optional<reactor::BackendKind> backend = {};
    // --no-config: a config file installed on the machine must not change what is tested.
    bool no_config = true;
    std::string log_level = "info";  // --log-level; empty: not given (a config file may set it)
    // argv put in front of reactord's: a service manager's tool, or a shell that sets a limit
    // and exec's "$@".
    std::vector<std::string> launcher = {};
    std::vector<std::pair<std::string, std::string>> env = {};  // as Child::Options
    std::vector<int> pass_fds = {};                             // as Child::Options
    rlim_t nofile = 0;                                          // as Child::Options
    // false: start() returns once the process runs (the test waits for readiness itself, e.g.
    // for READY=1 on a notify socket, or for the first connection of socket activation).
    bool wait_ready = true;
    int timeout_ms = 30000;
  };
  Reactord() = default;
  ~Reactord();

  StartResult start(const Options& opts);
  StartResult start(reactor::BackendKind backend, const std::vector<std::string>& args,
                    rlim_t nofile = 0, int timeout_ms = 30000);
  // The first listener reactord reported for `proto`, waiting up to wait_ms for its line (all
  // are printed before "ready"); nullopt if there is none.
  std::optional<reactor::SocketAddress> listener(const std::string& proto, int wait_ms = 0) const;
  // As listener(), waiting up to 10 s, but abort()s if there is none.
  reactor::SocketAddress address(const std::string& proto) const;
  int port(const std::string& proto) const { return address(proto).port(); }
  pid_t pid() const { return child_.pid(); }
  Child& child() { return child_; }
  // SIGTERM, then wait up to timeout_ms; the raw wait status or nullopt on timeout.
  std::optional<int> terminate(int timeout_ms = 30000);

 private:
  Child child_;
  // Read from stderr once "ready" came (written only by start(), so safe to read from the
  // test's threads); a start without waiting finds its listeners in stderr on demand.
  std::map<std::string, reactor::SocketAddress> listening_;
};

// In a test body: start `server` or skip the test when the backend is unavailable.
#define RT_START_REACTORD(server, ...)                              \
  do {                                                              \
    auto rt_start_result_ = (server).start(__VA_ARGS__);            \
    if (rt_start_result_.kind == ::rt::Reactord::Start::kSkip)      \
      GTEST_SKIP() << rt_start_result_.message;                     \
    ASSERT_EQ(rt_start_result_.kind, ::rt::Reactord::Start::kReady) \
        << "reactord did not start: " << rt_start_result_.message;  \
  } while (0)

// Does this stderr say the io_uring backend cannot be used (build or kernel)?
bool says_io_uring_unavailable(const std::string& text);

// /proc/PID/status VmRSS in KiB (-1 if unreadable).
long rss_kib(pid_t pid);
// utime + stime from /proc/PID/stat, in seconds (-1 if unreadable).
double cpu_seconds(pid_t pid);
// Entries in /proc/PID/fd (-1 if unreadable).
int open_fd_count(pid_t pid);
// Entries in /proc/PID/fd that are sockets (listeners and connections; -1 if unreadable).
int socket_fd_count(pid_t pid);

}  // namespace rt
