#include "tests/support/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "reactor/listener.h"

namespace rt {

uint64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

bool wait_until(const std::function<bool()>& pred, int timeout_ms, int step_ms) {
  uint64_t deadline = now_ms() + static_cast<uint64_t>(timeout_ms);
  for (;;) {
    if (pred()) return true;
    if (now_ms() >= deadline) return pred();
    sleep_ms(step_ms);
  }
}

static int remaining(uint64_t deadline) {
  uint64_t now = now_ms();
  return now >= deadline ? 0 : static_cast<int>(deadline - now);
}

reactor::SocketAddress parse_address(const std::string& text) {
  reactor::SocketAddress a;
  std::string err;
  if (!reactor::SocketAddress::parse(text, &a, &err)) {
    fprintf(stderr, "test support: cannot parse address '%s': %s\n", text.c_str(), err.c_str());
    abort();
  }
  return a;
}

reactor::SocketAddress loopback4(int port) {
  return parse_address("127.0.0.1:" + std::to_string(port));
}

Fd connect_to(const reactor::SocketAddress& addr, int timeout_ms, std::string* error, int rcvbuf,
              int sndbuf) {
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *error = std::string("socket: ") + strerror(errno);
    return Fd();
  }
  if (rcvbuf > 0) setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (::connect(fd.get(), addr.get(), addr.len) == 0) return fd;
  if (errno != EINPROGRESS && errno != EAGAIN) {
    *error = "connect " + addr.to_string() + ": " + strerror(errno);
    return Fd();
  }
  pollfd p{fd.get(), POLLOUT, 0};
  int rc = ::poll(&p, 1, timeout_ms);
  if (rc <= 0) {
    *error = "connect " + addr.to_string() + ": timed out";
    return Fd();
  }
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    *error = "connect " + addr.to_string() + ": " + strerror(err);
    return Fd();
  }
  return fd;
}

void set_linger_reset(int fd) {
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

bool send_all(int fd, std::string_view data, int timeout_ms, std::string* error) {
  uint64_t deadline = now_ms() + static_cast<uint64_t>(timeout_ms);
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      *error = std::string("send: ") + strerror(errno);
      return false;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining(deadline)) == 0 && remaining(deadline) == 0) {
      *error = "send: timed out with " + std::to_string(data.size()) + " bytes unsent";
      return false;
    }
  }
  return true;
}

const char* recv_end_name(RecvEnd e) {
  switch (e) {
    case RecvEnd::kCount:
      return "count";
    case RecvEnd::kEof:
      return "eof";
    case RecvEnd::kReset:
      return "reset";
    case RecvEnd::kTimeout:
      return "timeout";
    case RecvEnd::kError:
      return "error";
  }
  return "?";
}

static RecvResult recv_loop(int fd, size_t want, bool until_eof, int timeout_ms) {
  RecvResult r;
  uint64_t deadline = now_ms() + static_cast<uint64_t>(timeout_ms);
  char buf[65536];
  for (;;) {
    if (!until_eof && r.data.size() >= want) {
      r.end = RecvEnd::kCount;
      return r;
    }
    size_t cap = sizeof buf;
    if (!until_eof && want - r.data.size() < cap) cap = want - r.data.size();
    ssize_t n = ::recv(fd, buf, cap, MSG_DONTWAIT);
    if (n > 0) {
      r.data.append(buf, static_cast<size_t>(n));
      if (until_eof && r.data.size() > want) {
        r.end = RecvEnd::kCount;
        return r;
      }
      continue;
    }
    if (n == 0) {
      r.end = RecvEnd::kEof;
      return r;
    }
    if (errno == EINTR) continue;
    if (errno == ECONNRESET || errno == EPIPE) {
      r.end = RecvEnd::kReset;
      r.err = errno;
      return r;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      r.end = RecvEnd::kError;
      r.err = errno;
      return r;
    }
    int left = remaining(deadline);
    if (left == 0) {
      r.end = RecvEnd::kTimeout;
      return r;
    }
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, left);
  }
}

RecvResult recv_exact(int fd, size_t n, int timeout_ms) {
  return recv_loop(fd, n, false, timeout_ms);
}

RecvResult recv_until_eof(int fd, int timeout_ms, size_t max_bytes) {
  return recv_loop(fd, max_bytes, true, timeout_ms);
}

ExchangeResult exchange(int fd, std::string_view payload, size_t expect, int timeout_ms,
                        bool shut_wr, bool want_eof) {
  ExchangeResult r;
  uint64_t deadline = now_ms() + static_cast<uint64_t>(timeout_ms);
  size_t sent = 0;
  bool shut = false;
  std::vector<char> buf(1 << 16);
  for (;;) {
    if (sent == payload.size() && shut_wr && !shut) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
    }
    bool recv_done = r.received.size() >= expect && (!want_eof || r.eof);
    if (sent == payload.size() && recv_done) break;
    if (r.eof && r.received.size() < expect) {
      r.error = "EOF after " + std::to_string(r.received.size()) + " of " + std::to_string(expect) +
                " bytes";
      return r;
    }
    int left = remaining(deadline);
    if (left == 0) {
      r.error = "timed out: sent " + std::to_string(sent) + "/" + std::to_string(payload.size()) +
                ", received " + std::to_string(r.received.size()) + "/" + std::to_string(expect) +
                (want_eof ? (r.eof ? ", eof" : ", no eof") : "");
      return r;
    }
    pollfd p{fd, 0, 0};
    if (sent < payload.size()) p.events |= POLLOUT;
    if (!recv_done) p.events |= POLLIN;
    ::poll(&p, 1, left < 100 ? left : 100);
    while (sent < payload.size()) {
      ssize_t n =
          ::send(fd, payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      r.error = std::string("send: ") + strerror(errno);
      return r;
    }
    for (int reads = 0; reads < 64 && !recv_done; ++reads) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) {
        r.received.append(buf.data(), static_cast<size_t>(n));
        if (r.received.size() > expect) {
          r.error = "received " + std::to_string(r.received.size()) + " bytes, more than the " +
                    std::to_string(expect) + " expected";
          return r;
        }
        recv_done = r.received.size() >= expect && (!want_eof || r.eof);
        continue;
      }
      if (n == 0) {
        r.eof = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      r.error = std::string("recv: ") + strerror(errno);
      return r;
    }
  }
  r.ok = true;
  return r;
}

// ---------------------------------------------------------------- StreamPump

StreamPump::StreamPump(int fd, uint64_t total, uint64_t seed, Transform t)
    : fd_(fd),
      total_(total),
      stream_(seed),
      transform_(t),
      out_(1 << 18),
      in_(1 << 17),
      expect_(1 << 17) {}

bool StreamPump::do_send_some() {
  for (;;) {
    if (out_pos_ == out_len_) {
      if (sent_ == total_) return true;
      out_len_ = static_cast<size_t>(total_ - sent_ < out_.size() ? total_ - sent_ : out_.size());
      stream_.fill(sent_, out_.data(), out_len_);
      out_pos_ = 0;
    }
    ssize_t n =
        ::send(fd_, out_.data() + out_pos_, out_len_ - out_pos_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
      sent_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    error_ = "send after " + std::to_string(sent_) + " bytes: " + strerror(errno);
    return false;
  }
}

bool StreamPump::do_recv_some() {
  for (int reads = 0; reads < 64; ++reads) {
    ssize_t n = ::recv(fd_, in_.data(), in_.size(), MSG_DONTWAIT);
    if (n > 0) {
      size_t len = static_cast<size_t>(n);
      if (received_ + len > total_) {
        error_ = "received " + std::to_string(received_ + len) + " bytes, more than the " +
                 std::to_string(total_) + " sent";
        return false;
      }
      stream_.fill(received_, expect_.data(), len);
      apply(transform_, expect_.data(), len);
      if (mismatch_at_ < 0 && memcmp(in_.data(), expect_.data(), len) != 0) {
        for (size_t i = 0; i < len; ++i) {
          if (in_[i] != expect_[i]) {
            mismatch_at_ = static_cast<int64_t>(received_ + i);
            break;
          }
        }
      }
      recv_hash_ = fnv1a(in_.data(), len, recv_hash_);
      expect_hash_ = fnv1a(expect_.data(), len, expect_hash_);
      received_ += len;
      continue;
    }
    if (n == 0) {
      eof_ = true;
      if (received_ < total_) {
        error_ =
            "EOF after " + std::to_string(received_) + " of " + std::to_string(total_) + " bytes";
        return false;
      }
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    error_ = "recv after " + std::to_string(received_) + " bytes: " + strerror(errno);
    return false;
  }
  return true;
}

bool StreamPump::step(int wait_ms, bool do_send, bool do_recv) {
  if (!error_.empty()) return false;
  pollfd p{fd_, 0, 0};
  bool want_send = do_send && sent_ < total_;
  bool want_recv = do_recv && !eof_;
  if (want_send) p.events |= POLLOUT;
  if (want_recv) p.events |= POLLIN;
  if (p.events == 0) {
    if (wait_ms > 0) sleep_ms(wait_ms < 10 ? wait_ms : 10);
    return true;
  }
  ::poll(&p, 1, wait_ms);
  if (want_send && !do_send_some()) return false;
  if (want_recv && !do_recv_some()) return false;
  return true;
}

bool StreamPump::run(int timeout_ms, bool do_send, bool do_recv,
                     const std::function<bool()>& until) {
  uint64_t deadline = now_ms() + static_cast<uint64_t>(timeout_ms);
  for (;;) {
    if (!error_.empty()) return false;
    if (until ? until() : done()) return true;
    int left = remaining(deadline);
    if (left == 0) {
      error_ = "timed out: sent " + std::to_string(sent_) + ", received " +
               std::to_string(received_) + " of " + std::to_string(total_);
      return false;
    }
    if (!step(left < 50 ? left : 50, do_send, do_recv)) return false;
  }
}

bool StreamPump::finish_with_eof(int timeout_ms) {
  if (!error_.empty()) return false;
  ::shutdown(fd_, SHUT_WR);
  uint64_t deadline = now_ms() + static_cast<uint64_t>(timeout_ms);
  while (!eof_) {
    int left = remaining(deadline);
    if (left == 0) {
      error_ = "no EOF after shutdown(SHUT_WR)";
      return false;
    }
    if (!step(left < 50 ? left : 50, false, true)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- ConnectionSwarm

bool ConnectionSwarm::run(const reactor::SocketAddress& addr, size_t n,
                          const std::function<std::string(size_t)>& message, Transform t,
                          int timeout_ms, std::string* error) {
  struct State {
    std::string out;
    std::string expect;
    std::string in;
    size_t sent = 0;
    bool connected = false;
    bool read_only = false;  // everything sent: stop asking for EPOLLOUT (level-triggered)
    bool done = false;
  };
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  if (!ep) {
    *error = std::string("epoll_create1: ") + strerror(errno);
    return false;
  }
  std::vector<State> st(n);
  fds_.clear();
  fds_.reserve(n);
  completed_ = 0;
  for (size_t i = 0; i < n; ++i) {
    st[i].out = message(i);
    st[i].expect = st[i].out;
    apply(t, st[i].expect.data(), st[i].expect.size());
    Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      *error = "socket #" + std::to_string(i) + ": " + strerror(errno);
      return false;
    }
    if (::connect(fd.get(), addr.get(), addr.len) != 0 && errno != EINPROGRESS) {
      *error = "connect #" + std::to_string(i) + ": " + strerror(errno);
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = i;
    if (epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
      *error = std::string("epoll_ctl: ") + strerror(errno);
      return false;
    }
    fds_.push_back(std::move(fd));
  }
  uint64_t deadline = now_ms() + static_cast<uint64_t>(timeout_ms);
  std::vector<epoll_event> events(512);
  char buf[4096];
  while (completed_ < n) {
    int left = remaining(deadline);
    if (left == 0) {
      size_t unconnected = 0, unsent = 0;
      for (auto& s : st) {
        unconnected += !s.connected;
        unsent += s.sent < s.out.size();
      }
      *error = "timed out: " + std::to_string(completed_) + " of " + std::to_string(n) +
               " connections complete (" + std::to_string(unconnected) + " not connected, " +
               std::to_string(unsent) + " not fully sent)";
      return false;
    }
    int k = epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()),
                       left < 100 ? left : 100);
    for (int e = 0; e < k; ++e) {
      size_t i = events[e].data.u64;
      State& s = st[i];
      int fd = fds_[i].get();
      if (s.done) continue;
      if (!s.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          *error = "connection #" + std::to_string(i) + ": " + strerror(err);
          return false;
        }
        if (!(events[e].events & (EPOLLOUT | EPOLLIN))) continue;
        s.connected = true;
      }
      while (s.sent < s.out.size()) {
        ssize_t w =
            ::send(fd, s.out.data() + s.sent, s.out.size() - s.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
          s.sent += static_cast<size_t>(w);
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
          break;
        } else {
          *error = "send #" + std::to_string(i) + ": " + strerror(errno);
          return false;
        }
      }
      if (s.sent == s.out.size() && !s.read_only) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = i;
        epoll_ctl(ep.get(), EPOLL_CTL_MOD, fd, &ev);
        s.read_only = true;
      }
      for (;;) {
        ssize_t r = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0) {
          s.in.append(buf, static_cast<size_t>(r));
          if (s.in.size() > s.expect.size()) {
            *error = "connection #" + std::to_string(i) + ": got more bytes than sent";
            return false;
          }
          continue;
        }
        if (r == 0) {
          *error = "connection #" + std::to_string(i) + ": EOF after " +
                   std::to_string(s.in.size()) + " of " + std::to_string(s.expect.size()) +
                   " bytes";
          return false;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        *error = "recv #" + std::to_string(i) + ": " + strerror(errno);
        return false;
      }
      if (s.in.size() == s.expect.size()) {
        if (s.in != s.expect) {
          *error = "connection #" + std::to_string(i) + ": reply differs from what was sent";
          return false;
        }
        s.done = true;
        ++completed_;
        epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr);
      }
    }
  }
  return true;
}

// ---------------------------------------------------------------- /proc/net/tcp

// /proc/net/tcp is not a snapshot: read while other sockets come and go it can list an entry
// twice, so entries are de-duplicated by their address pair.
static void collect(const char* file, int port, int state, std::set<std::string>* seen) {
  std::ifstream in(file);
  if (!in) return;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // "  sl  local_address rem_address   st ..."; local_address is HEXIP:HEXPORT.
    std::istringstream ls(line);
    std::string sl, local, remote, st;
    if (!(ls >> sl >> local >> remote >> st)) continue;
    size_t colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    int p = static_cast<int>(strtol(local.c_str() + colon + 1, nullptr, 16));
    int s = static_cast<int>(strtol(st.c_str(), nullptr, 16));
    if (p == port && s == state) seen->insert(local + " " + remote);
  }
}

int count_tcp_sockets(int local_port, int state) {
  std::set<std::string> seen;
  collect("/proc/net/tcp", local_port, state, &seen);
  collect("/proc/net/tcp6", local_port, state, &seen);
  return static_cast<int>(seen.size());
}

Fd reserve_refusing_port(int* port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  reactor::SocketAddress a = loopback4(0);
  if (!fd || ::bind(fd.get(), a.get(), a.len) != 0) {
    *port = -1;
    return Fd();
  }
  *port = reactor::bound_address(fd.get()).port();
  return fd;
}

// ---------------------------------------------------------------- misc

TempDir::TempDir() {
  char tmpl[] = "/tmp/rtest-XXXXXX";
  if (!mkdtemp(tmpl)) {
    fprintf(stderr, "test support: mkdtemp: %s\n", strerror(errno));
    abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, std::string_view text) const {
  std::string p = file(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  return p;
}

int listen_loopback(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 128) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int listen_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 128) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

long raise_nofile_limit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<long>(rl.rlim_cur);
}

}  // namespace rt
