// Helpers for the deploy tests: a child process with a chosen environment and passed file
// descriptors (socket activation), its stderr in a file, bounded waits, loopback sockets.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deploy_test {

using std::chrono::milliseconds;

// A private directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }
  // Writes `text` to file(name) and returns its path.
  std::string write(std::string_view name, std::string_view text) const;

 private:
  std::string path_;
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program path
  // Added to a copy of our environment, from which NOTIFY_SOCKET, LISTEN_* and WATCHDOG_*
  // are removed first (ctest itself may run under systemd). A value of "$PID" becomes the
  // child's pid (LISTEN_PID, WATCHDOG_PID).
  std::vector<std::pair<std::string, std::string>> env;
  // Descriptors the child receives as 3, 4, ... (in this order).
  std::vector<int> pass_fds;
  std::string stderr_path;  // where the child's stderr goes (stdout goes to /dev/null)
};

// One child process. The destructor SIGKILLs and reaps it if it is still running.
class Child {
 public:
  explicit Child(const SpawnOptions& opts);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits for exit; the exit status (or 128 + signal), nullopt on timeout.
  std::optional<int> wait_exit(milliseconds timeout);
  std::string stderr_text() const;
  // Polls stderr until it contains `needle` (true) or the timeout passes or the child exits
  // without printing it (false).
  bool wait_for_stderr(std::string_view needle, milliseconds timeout);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string stderr_path_;
};

// The port of the first "listening PROTO on 127.0.0.1:PORT" line, 0 if none.
int listening_port(const std::string& stderr_text, std::string_view protocol);

// A TCP listener on 127.0.0.1 with an ephemeral port (blocking, no CLOEXEC: for passing).
int listen_loopback(int* port);
// A unix stream listener at `path`.
int listen_unix(const std::string& path);
// A free loopback port: bound once (port 0) and released.
int free_port();

// Blocking TCP/unix connect with send/receive timeouts; -1 on failure.
int connect_loopback(int port);
int connect_unix(const std::string& path);
// Sends `data`, half-closes, reads until EOF (bounded by the socket timeouts).
std::string roundtrip(int fd, std::string_view data);
// Reads until EOF or error; true when EOF came before `timeout`.
bool wait_eof(int fd, milliseconds timeout);

// Runs a shell command, returns its exit status and (merged stdout+stderr) output.
int run_command(const std::string& command, std::string* output);
// True when `tool` is on PATH.
bool have_tool(const std::string& tool);

std::string random_bytes(size_t n, unsigned seed);

}  // namespace deploy_test
