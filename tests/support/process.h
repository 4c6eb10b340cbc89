// Spawning the reactord and reactord-client binaries: stderr/stdout captured line by line by a
// reader thread, waits bounded by timeouts, exit statuses, /proc/PID resource readings.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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
// child never blocks); stdin is a pipe when asked for, else /dev/null.
class Child {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is the path to execute
    rlim_t nofile = 0;              // when > 0: RLIMIT_NOFILE soft = hard = nofile in the child
    bool stdin_pipe = false;
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
                       std::string* line = nullptr);
  std::vector<std::string> stderr_lines();
  std::string stderr_text();
  std::string stdout_text();

  bool write_stdin(const std::string& data);
  void close_stdin();

  void signal(int sig);
  // Reaps the child, waiting at most timeout_ms; the raw wait status, or nullopt on timeout.
  std::optional<int> wait(int timeout_ms);
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
  std::mutex mu_;
  std::condition_variable cv_;
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

// The reactord binary under test. start() adds --no-config, --backend and --log-level info,
// waits for the "ready" line and reads every "listening PROTO on ADDR" line.
class Reactord {
 public:
  enum class Start { kReady, kSkip, kFail };
  struct StartResult {
    Start kind = Start::kFail;
    std::string message;
  };
  Reactord() = default;
  ~Reactord();

  StartResult start(reactor::BackendKind backend, const std::vector<std::string>& args,
                    rlim_t nofile = 0, int timeout_ms = 30000);
  // The bound address of the first listener for `proto` (abort()s if there is none).
  reactor::SocketAddress address(const std::string& proto) const;
  int port(const std::string& proto) const { return address(proto).port(); }
  pid_t pid() const { return child_.pid(); }
  Child& child() { return child_; }
  // SIGTERM, then wait up to timeout_ms; the raw wait status or nullopt on timeout.
  std::optional<int> terminate(int timeout_ms = 30000);

 private:
  Child child_;
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
