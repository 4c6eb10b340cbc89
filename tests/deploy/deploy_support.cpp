// Deploy-test helpers: fork/exec with a chosen environment and fds, loopback sockets.
#include "tests/deploy/deploy_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace deploy_test {

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/reactord-deploy-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(std::string_view name, std::string_view text) const {
  std::string p = file(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  return p;
}

Child::Child(const SpawnOptions& opts) : stderr_path_(opts.stderr_path) {
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view v = *e;
    if (v.starts_with("NOTIFY_SOCKET=") || v.starts_with("LISTEN_") || v.starts_with("WATCHDOG_"))
      continue;
    env.emplace_back(v);
  }
  std::vector<size_t> pid_slots;
  for (const auto& [k, v] : opts.env) {
    if (v == "$PID") {
      pid_slots.push_back(env.size());
      env.push_back(k + "=" + std::string(24, '\0'));
    } else {
      env.push_back(k + "=" + v);
    }
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  std::vector<std::string> args = opts.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int err_fd = open(opts.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (err_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open child stdio");

  pid_ = fork();
  if (pid_ == 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(err_fd, 2);
    // Move the passed fds out of the way first so dup2 onto 3, 4, ... cannot clobber one.
    int high[64];
    size_t n = opts.pass_fds.size() < 64 ? opts.pass_fds.size() : 64;
    for (size_t i = 0; i < n; ++i) high[i] = fcntl(opts.pass_fds[i], F_DUPFD, 200);
    for (size_t i = 0; i < n; ++i) dup2(high[i], 3 + static_cast<int>(i));  // clears CLOEXEC
    for (size_t i = 0; i < n; ++i) close(high[i]);
    for (size_t slot : pid_slots) {
      char* value = strchr(envp[slot], '=') + 1;
      snprintf(value, 24, "%d", static_cast<int>(getpid()));
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(err_fd);
  close(null_fd);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

Child::~Child() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
}

void Child::signal(int sig) const {
  if (pid_ > 0 && !reaped_) kill(pid_, sig);
}

std::optional<int> Child::wait_exit(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

std::string Child::stderr_text() const {
  std::ifstream in(stderr_path_, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Child::wait_for_stderr(std::string_view needle, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (stderr_text().find(needle) != std::string::npos) return true;
    siginfo_t info{};
    if (reaped_ ||
        (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid_)) {
      return stderr_text().find(needle) != std::string::npos;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

int listening_port(const std::string& text, std::string_view protocol) {
  std::string key = "listening " + std::string(protocol) + " on 127.0.0.1:";
  size_t at = text.find(key);
  if (at == std::string::npos) return 0;
  return atoi(text.c_str() + at + key.size());
}

static void set_timeouts(int fd) {
  timeval tv{10, 0};  // bounds every blocking read or write in these tests
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int listen_loopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int listen_unix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

int free_port() {
  int port = 0;
  int fd = listen_loopback(&port);
  if (fd >= 0) close(fd);
  return port;
}

int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  set_timeouts(fd);
  return fd;
}

int connect_unix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  set_timeouts(fd);
  return fd;
}

std::string roundtrip(int fd, std::string_view data) {
  // A writer thread, so a reply larger than the socket buffers cannot deadlock the test.
  std::thread writer([fd, data] {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    shutdown(fd, SHUT_WR);
  });
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  writer.join();
  return out;
}

bool wait_eof(int fd, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return true;  // reset counts as closed
  }
}

int run_command(const std::string& command, std::string* output) {
  std::string cmd = command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  output->clear();
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have_tool(const std::string& tool) {
  std::string out;
  return run_command("command -v " + tool, &out) == 0;
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace deploy_test
