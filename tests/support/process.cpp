// Child processes for tests and the reactord launcher (process.h).
#include "tests/support/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "tests/support/net.h"

extern char** environ;

namespace rt {

namespace {

// Service-manager variables in our environment are for this process, never for a child.
bool inherited_manager_variable(std::string_view v) {
  return v.starts_with("NOTIFY_SOCKET=") || v.starts_with("LISTEN_") || v.starts_with("WATCHDOG_");
}

// The child's environment as strings; *pid_slots gets the indexes whose value is "$PID", which
// the child fills in after fork() (room for the digits is reserved here).
std::vector<std::string> child_environment(const Child::Options& opts,
                                           std::vector<size_t>* pid_slots) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (!inherited_manager_variable(*e)) env.emplace_back(*e);
  }
  for (const auto& [key, value] : opts.env) {
    if (value == "$PID") {
      pid_slots->push_back(env.size());
      env.push_back(key + "=" + std::string(23, '\0'));
    } else {
      env.push_back(key + "=" + value);
    }
  }
  return env;
}

// Async-signal-safe decimal: for the child between fork() and exec().
void write_decimal(char* out, long value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

}  // namespace

std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st))
    return "signal " + std::to_string(WTERMSIG(st)) + " (" + strsignal(WTERMSIG(st)) + ")";
  return "status " + std::to_string(st);
}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
  }
  close_stdin();
  join_readers();
}

void Child::join_readers() {
  if (out_.reader.joinable()) out_.reader.join();
  if (err_.reader.joinable()) err_.reader.join();
}

bool Child::start(const Options& opts, std::string* error) {
  int out_pipe[2], err_pipe[2], in_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      (opts.stdin_pipe && pipe2(in_pipe, O_CLOEXEC) != 0)) {
    *error = std::string("pipe2: ") + strerror(errno);
    return false;
  }
  // Everything the child needs is prepared before fork(): after it only async-signal-safe
  // calls are allowed (the test process is multithreaded).
  std::vector<char*> argv;
  for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<size_t> pid_slots;
  std::vector<std::string> env = child_environment(opts, &pid_slots);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int passed = static_cast<int>(opts.pass_fds.size());
  std::vector<int> parked(opts.pass_fds.size(), -1);
  int devnull = opts.stdin_pipe ? -1 : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  rlimit rl{opts.nofile, opts.nofile};
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid == 0) {
    // Child. dup2 clears close-on-exec on the copies; everything else is closed.
    dup2(opts.stdin_pipe ? in_pipe[0] : devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    // Park the passed descriptors above 3 + passed first, so that placing one at 3, 4, ...
    // cannot overwrite another still to be placed; dup2 clears close-on-exec on the copies.
    for (int i = 0; i < passed; ++i) parked[i] = fcntl(opts.pass_fds[i], F_DUPFD, 3 + passed);
    for (int i = 0; i < passed; ++i) dup2(parked[i], 3 + i);
    close_range(3 + passed, UINT_MAX, 0);
    for (size_t slot : pid_slots) write_decimal(strchr(envp[slot], '=') + 1, getpid());
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (opts.nofile > 0 && setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  pid_ = pid;
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (devnull >= 0) ::close(devnull);
  if (opts.stdin_pipe) {
    ::close(in_pipe[0]);
    stdin_fd_ = in_pipe[1];
  }
  out_.fd = out_pipe[0];
  err_.fd = err_pipe[0];
  out_.reader = std::thread([this] { read_loop(&out_); });
  err_.reader = std::thread([this] { read_loop(&err_); });
  return true;
}

void Child::read_loop(Stream* s) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(s->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (n <= 0) {
      if (!s->partial.empty()) s->lines.push_back(s->partial);
      s->partial.clear();
      s->closed = true;
      ::close(s->fd);
      s->fd = -1;
      cv_.notify_all();
      return;
    }
    s->text.append(buf, static_cast<size_t>(n));
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        s->lines.push_back(s->partial);
        s->partial.clear();
      } else {
        s->partial.push_back(buf[i]);
      }
    }
    cv_.notify_all();
  }
}

bool Child::wait_for_stderr(const std::function<bool(const std::string&)>& pred, int timeout_ms,
                            std::string* line) const {
  std::unique_lock<std::mutex> lock(mu_);
  size_t checked = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    for (; checked < err_.lines.size(); ++checked) {
      if (pred(err_.lines[checked])) {
        if (line) *line = err_.lines[checked];
        return true;
      }
    }
    if (err_.closed) return false;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (; checked < err_.lines.size(); ++checked) {
        if (pred(err_.lines[checked])) {
          if (line) *line = err_.lines[checked];
          return true;
        }
      }
      return false;
    }
  }
}

bool Child::wait_for_stderr(std::string_view needle, int timeout_ms) const {
  return wait_for_stderr(
      [needle](const std::string& l) { return l.find(needle) != std::string::npos; }, timeout_ms);
}

std::vector<std::string> Child::stderr_lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_.lines;
}

std::string Child::stderr_text() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_.text;
}

std::string Child::stdout_text() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_.text;
}

bool Child::write_stdin(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(stdin_fd_, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void Child::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void Child::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> Child::wait(int timeout_ms) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  uint64_t deadline = now_ms() + static_cast<uint64_t>(timeout_ms);
  for (;;) {
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      // The pipes close once the child (and anything it spawned) is gone.
      close_stdin();
      join_readers();
      return status_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (now_ms() >= deadline) return std::nullopt;
    sleep_ms(5);
  }
}

std::optional<int> Child::wait_exit(int timeout_ms) {
  std::optional<int> st = wait(timeout_ms);
  if (!st) return std::nullopt;
  return WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + WTERMSIG(*st);
}

bool Child::running() {
  if (pid_ <= 0 || status_) return false;
  return !wait(0).has_value();
}

bool RunResult::exited() const {
  return !timed_out && WIFEXITED(status);
}

int RunResult::exit_code() const {
  return exited() ? WEXITSTATUS(status) : -1;
}

RunResult run_process(const std::vector<std::string>& argv, const std::string& input,
                      int timeout_ms) {
  return run_process(Child::Options{argv}, input, timeout_ms);
}

RunResult run_process(Child::Options opts, const std::string& input, int timeout_ms) {
  RunResult r;
  Child c;
  std::string error;
  opts.stdin_pipe = true;
  if (!c.start(opts, &error)) {
    r.err = error;
    return r;
  }
  // The child drains stdin as it runs while reader threads drain its output: no deadlock.
  c.write_stdin(input);
  c.close_stdin();
  auto st = c.wait(timeout_ms);
  if (!st) {
    r.timed_out = true;
    c.signal(SIGKILL);
    st = c.wait(10000);
  }
  r.status = st.value_or(-1);
  r.out = c.stdout_text();
  r.err = c.stderr_text();
  return r;
}

bool says_io_uring_unavailable(const std::string& text) {
  return text.find("io_uring") != std::string::npos &&
         (text.find("unavailable") != std::string::npos ||
          text.find("not available") != std::string::npos);
}

Reactord::~Reactord() {
  if (child_.started() && child_.running()) {
    child_.signal(SIGKILL);
    child_.wait(10000);
  }
}

namespace {

// "... listening PROTO on ADDR[ (socket from systemd)]": true and *proto, *addr_text if `line`
// is such a line.
bool split_listening_line(const std::string& line, std::string* proto, std::string* addr_text) {
  size_t p = line.find("listening ");
  if (p == std::string::npos) return false;
  size_t on = line.find(" on ", p);
  if (on == std::string::npos) return false;
  *proto = line.substr(p + 10, on - (p + 10));
  *addr_text = line.substr(on + 4);
  *addr_text = addr_text->substr(0, addr_text->find(' '));
  return true;
}

bool ends_with_ready(const std::string& l) {
  return l.size() >= 5 && l.compare(l.size() - 5, 5, "ready") == 0;
}

}  // namespace

Reactord::StartResult Reactord::start(reactor::BackendKind backend,
                                      const std::vector<std::string>& args, rlim_t nofile,
                                      int timeout_ms) {
  Options o;
  o.args = args;
  o.backend = backend;
  o.nofile = nofile;
  o.timeout_ms = timeout_ms;
  return start(o);
}

Reactord::StartResult Reactord::start(const Options& opts) {
  StartResult r;
  Child::Options o;
  o.argv = opts.launcher;
  o.argv.push_back(reactord_path());
  if (opts.no_config) o.argv.push_back("--no-config");
  if (opts.backend) {
    o.argv.push_back("--backend");
    o.argv.push_back(reactor::backend_kind_name(*opts.backend));
  }
  if (!opts.log_level.empty()) {
    o.argv.push_back("--log-level");
    o.argv.push_back(opts.log_level);
  }
  o.argv.insert(o.argv.end(), opts.args.begin(), opts.args.end());
  o.nofile = opts.nofile;
  o.env = opts.env;
  o.pass_fds = opts.pass_fds;
  std::string error;
  if (!child_.start(o, &error)) {
    r.message = error;
    return r;
  }
  if (!opts.wait_ready) {
    r.kind = Start::kReady;
    return r;
  }
  if (!child_.wait_for_stderr(ends_with_ready, opts.timeout_ms)) {
    auto st = child_.wait(5000);
    std::string text = child_.stderr_text();
    if (opts.backend == reactor::BackendKind::kIoUring &&
        (!reactor::io_uring_compiled_in() || says_io_uring_unavailable(text)) && st &&
        WIFEXITED(*st) && WEXITSTATUS(*st) == 1) {
      r.kind = Start::kSkip;
      r.message = "io_uring backend unavailable: " + text;
      return r;
    }
    r.message =
        (st ? describe_status(*st) : std::string("no 'ready' line in time")) + "; stderr:\n" + text;
    return r;
  }
  for (const std::string& l : child_.stderr_lines()) {
    std::string proto, addr_text, err;
    reactor::SocketAddress a;
    if (!split_listening_line(l, &proto, &addr_text)) continue;
    if (!reactor::SocketAddress::parse(addr_text, &a, &err)) {
      r.message = "cannot parse listening line '" + l + "': " + err;
      return r;
    }
    listening_.emplace(proto, a);  // keeps the first per protocol
  }
  r.kind = Start::kReady;
  return r;
}

std::optional<reactor::SocketAddress> Reactord::listener(const std::string& proto,
                                                         int wait_ms) const {
  auto known = listening_.find(proto);
  if (known != listening_.end()) return known->second;
  std::string line;
  auto is_listener = [&proto](const std::string& l) {
    std::string p, addr_text;
    return split_listening_line(l, &p, &addr_text) && p == proto;
  };
  if (!child_.wait_for_stderr(is_listener, wait_ms, &line)) return std::nullopt;
  std::string p, addr_text, err;
  reactor::SocketAddress a;
  split_listening_line(line, &p, &addr_text);
  if (!reactor::SocketAddress::parse(addr_text, &a, &err)) return std::nullopt;
  return a;
}

reactor::SocketAddress Reactord::address(const std::string& proto) const {
  std::optional<reactor::SocketAddress> a = listener(proto, 10000);
  if (!a) {
    fprintf(stderr, "test support: reactord reported no '%s' listener\n", proto.c_str());
    abort();
  }
  return *a;
}

std::optional<int> Reactord::terminate(int timeout_ms) {
  child_.signal(SIGTERM);
  return child_.wait(timeout_ms);
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name may hold spaces and parentheses: fields resume after the last ')'.
  size_t close = all.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(all.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  // After the name: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
  // cmajflt utime(14) stime(15).
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = strtoull(f.c_str(), nullptr, 10);
    if (i == 15) stime = strtoull(f.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int socket_fd_count(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  char target[256];
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    ssize_t len = readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    if (len > 0 && std::string_view(target, static_cast<size_t>(len)).starts_with("socket:")) ++n;
  }
  closedir(d);
  return n;
}

int open_fd_count(pid_t pid) {
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

}  // namespace rt
