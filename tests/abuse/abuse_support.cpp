// Implementation of the abuse-suite helpers: crowd threads, probes, RSS sampling, figures.
#include "tests/abuse/abuse_support.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>

#include "tests/support/process.h"

namespace abuse {

void figure(const std::string& text) {
  printf("[figure] %s\n", text.c_str());
  fflush(stdout);
  static int n = 0;
  testing::Test::RecordProperty("figure" + std::to_string(++n), text);
}

std::string fmt(const char* format, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, format);
  vsnprintf(buf, sizeof buf, format, ap);
  va_end(ap);
  return buf;
}

bool reactord_has_flag(const std::string& flag) {
  static std::mutex mu;
  static std::map<std::string, bool> known;
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(flag);
  if (it != known.end()) return it->second;
  rt::RunResult r = rt::run_process({rt::reactord_path(), "--help"}, "", 10000);
  bool has = (r.out + r.err).find(flag) != std::string::npos;
  known[flag] = has;
  return has;
}

// ---------------------------------------------------------------- Latencies

double Latencies::percentile(double p) const {
  if (ms_.empty()) return 0;
  std::vector<double> v = ms_;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  if (rank == 0) rank = 1;
  return v[std::min(rank, v.size()) - 1];
}

std::string Latencies::summary() const {
  return fmt("p99 %.1f ms (max %.1f ms, n=%zu)", p99(), max(), count());
}

// ---------------------------------------------------------------- Crowd

bool Crowd::start(const reactor::SocketAddress& addr, const Options& opts, int timeout_ms,
                  std::string* error) {
  opts_ = opts;
  if (opts_.payload.empty() || opts_.threads < 1) {
    *error = "crowd: empty payload or no threads";
    return false;
  }
  for (int t = 0; t < opts_.threads; ++t) {
    auto w = std::make_unique<Worker>();
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (w->ep < 0) {
      *error = std::string("epoll_create1: ") + strerror(errno);
      return false;
    }
    workers_.push_back(std::move(w));
  }
  // Sockets are created and registered before any thread runs: the vectors never move after.
  for (size_t i = 0; i < opts_.clients; ++i) {
    Worker& w = *workers_[i % workers_.size()];
    int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *error = "crowd socket #" + std::to_string(i) + ": " + strerror(errno);
      return false;
    }
    if (opts_.rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opts_.rcvbuf, sizeof opts_.rcvbuf);
    if (::connect(fd, addr.get(), addr.len) != 0 && errno != EINPROGRESS) {
      *error = "crowd connect #" + std::to_string(i) + ": " + strerror(errno);
      ::close(fd);
      return false;
    }
    Client c;
    c.fd = fd;
    w.clients.push_back(c);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = w.clients.size() - 1;
    epoll_ctl(w.ep, EPOLL_CTL_ADD, fd, &ev);
  }
  progress_ms_ = rt::now_ms();
  for (auto& w : workers_) {
    Worker* p = w.get();
    w->thread = std::thread([this, p] { run(p); });
  }
  bool up = rt::wait_until([&] { return connected_.load() + ended_.load() >= opts_.clients; },
                           timeout_ms, 20);
  if (!up) {
    *error = "crowd: " + std::to_string(connected_.load()) + " of " +
             std::to_string(opts_.clients) + " connected within " + std::to_string(timeout_ms) +
             " ms";
    return false;
  }
  return true;
}

void Crowd::stop(bool reset) {
  stop_ = true;
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
    for (Client& c : w->clients) {
      if (c.fd < 0) continue;
      if (reset) rt::set_linger_reset(c.fd);
      ::close(c.fd);
      c.fd = -1;
    }
    if (w->ep >= 0) ::close(w->ep);
    w->ep = -1;
  }
  workers_.clear();
}

uint64_t Crowd::ms_since_progress() const {
  uint64_t now = rt::now_ms(), last = progress_ms_.load();
  return now > last ? now - last : 0;
}

void Crowd::end(Client& c) {
  if (c.ended) return;
  c.ended = true;
  ++ended_;
  if (!c.connected) ++connected_;  // resolved either way: start() waits on connected + ended
  c.connected = true;
  ::close(c.fd);  // also leaves the epoll set
  c.fd = -1;
}

void Crowd::push(Client& c, bool once) {
  const std::string& p = opts_.payload;
  while (!c.ended && !c.finished) {
    if (opts_.bytes_each && c.sent >= opts_.bytes_each) {
      c.finished = true;
      ++finished_;
      return;
    }
    size_t off = static_cast<size_t>(c.sent % p.size());
    size_t len = std::min(opts_.write_size, p.size() - off);
    if (opts_.bytes_each)
      len = static_cast<size_t>(std::min<uint64_t>(len, opts_.bytes_each - c.sent));
    ssize_t n = ::send(c.fd, p.data() + off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.sent += static_cast<uint64_t>(n);
      sent_ += static_cast<uint64_t>(n);
      progress_ms_ = rt::now_ms();
      if (once) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)) return;
    end(c);  // EPIPE, ECONNRESET: the server closed this one
  }
}

void Crowd::run(Worker* w) {
  std::vector<epoll_event> events(512);
  uint64_t next_tick = rt::now_ms();
  while (!stop_.load(std::memory_order_relaxed)) {
    int wait = 50;
    if (opts_.interval_ms > 0) {
      uint64_t now = rt::now_ms();
      wait = next_tick > now ? static_cast<int>(next_tick - now) : 0;
    }
    int k = epoll_wait(w->ep, events.data(), static_cast<int>(events.size()), wait);
    for (int e = 0; e < k; ++e) {
      Client& c = w->clients[events[e].data.u64];
      if (c.ended) continue;
      uint32_t ev = events[e].events;
      if (!c.connected && (ev & EPOLLOUT) && !(ev & (EPOLLERR | EPOLLHUP))) {
        c.connected = true;
        ++connected_;
      }
      if (ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        end(c);
        continue;
      }
      if (opts_.interval_ms == 0) push(c, false);
    }
    if (opts_.interval_ms > 0 && rt::now_ms() >= next_tick) {
      next_tick = rt::now_ms() + static_cast<uint64_t>(opts_.interval_ms);
      for (Client& c : w->clients) {
        if (c.connected && !c.ended) push(c, true);
      }
    }
  }
}

// ---------------------------------------------------------------- RssSampler

void RssSampler::start(pid_t pid, int period_ms) {
  stop_ = false;
  uint64_t t0 = rt::now_ms();
  thread_ = std::thread([this, pid, period_ms, t0] {
    while (!stop_.load()) {
      long kib = rt::rss_kib(pid);
      if (kib > 0) {
        last_ = kib;
        if (kib > max_.load()) max_ = kib;
        std::lock_guard<std::mutex> lock(mu_);
        samples_.emplace_back(rt::now_ms() - t0, kib);
      }
      rt::sleep_ms(period_ms);
    }
  });
}

void RssSampler::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<std::pair<uint64_t, long>> RssSampler::samples() {
  std::lock_guard<std::mutex> lock(mu_);
  return samples_;
}

// ---------------------------------------------------------------- probes

static uint64_t now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

static double elapsed_ms(uint64_t t0_us) {
  return static_cast<double>(now_us() - t0_us) / 1000.0;
}

bool echo_roundtrip(int fd, const std::string& payload, int timeout_ms, double* ms,
                    std::string* why) {
  uint64_t t0 = now_us();
  rt::ExchangeResult x = rt::exchange(fd, payload, payload.size(), timeout_ms);
  *ms = elapsed_ms(t0);
  if (!x.ok) {
    *why = x.error;
    return false;
  }
  if (x.received != payload) {
    *why = "echo differs from what was sent";
    return false;
  }
  return true;
}

bool fresh_echo(const reactor::SocketAddress& addr, const std::string& payload, int timeout_ms,
                double* ms, std::string* why) {
  uint64_t t0 = now_us();
  rt::Fd fd = rt::connect_to(addr, timeout_ms, why);
  if (!fd) {
    *ms = elapsed_ms(t0);
    return false;
  }
  double rt_ms = 0;
  bool ok = echo_roundtrip(fd.get(), payload, timeout_ms, &rt_ms, why);
  *ms = elapsed_ms(t0);
  return ok;
}

bool http_plaintext(ht::Client& c, int timeout_ms, double* ms, std::string* why) {
  uint64_t t0 = now_us();
  ht::ReadResult r = c.roundtrip(ht::get("/plaintext"), false, timeout_ms);
  *ms = elapsed_ms(t0);
  if (!r.ok) {
    *why = r.error;
    return false;
  }
  if (r.response.code != 200 || r.response.body != "Hello, World!") {
    *why = "unexpected answer: " + r.response.status_line;
    return false;
  }
  return true;
}

bool fresh_http(const reactor::SocketAddress& addr, int timeout_ms, double* ms, std::string* why) {
  uint64_t t0 = now_us();
  ht::Client c(addr, timeout_ms);
  if (!c.ok()) {
    *ms = elapsed_ms(t0);
    *why = c.error();
    return false;
  }
  double rt_ms = 0;
  bool ok = http_plaintext(c, timeout_ms, &rt_ms, why);
  *ms = elapsed_ms(t0);
  return ok;
}

std::optional<ht::Metrics> try_scrape(const reactor::SocketAddress& addr, int timeout_ms,
                                      std::string* why) {
  ht::Client c(addr, timeout_ms);
  if (!c.ok()) {
    *why = "metrics connect: " + c.error();
    return std::nullopt;
  }
  ht::ReadResult r = c.roundtrip(ht::scrape_request(), false, timeout_ms);
  if (!r.ok) {
    *why = "metrics: " + r.error;
    return std::nullopt;
  }
  if (r.response.code != 200) {
    *why = "metrics: " + r.response.status_line;
    return std::nullopt;
  }
  return ht::parse_metrics(r.response.body);
}

}  // namespace abuse

namespace abuse {

NewcomerOutcome run_newcomers(const reactor::SocketAddress& addr, size_t n,
                              const std::string& request,
                              const std::function<bool(const std::string&)>& served, int timeout_ms,
                              std::vector<rt::Fd>* keep_served) {
  struct State {
    rt::Fd fd;
    uint64_t t0 = 0;
    std::string in;
    bool connected = false;
    bool sent = false;
    bool done = false;
  };
  NewcomerOutcome out;
  rt::Fd ep(epoll_create1(EPOLL_CLOEXEC));
  std::vector<State> st(n);
  size_t pending = 0;
  for (size_t i = 0; i < n; ++i) {
    State& s = st[i];
    s.t0 = now_us();
    s.fd = rt::Fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.fd || (::connect(s.fd.get(), addr.get(), addr.len) != 0 && errno != EINPROGRESS)) {
      ++out.connect_failed;
      s.done = true;
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, s.fd.get(), &ev);
    ++pending;
  }
  const uint64_t deadline = rt::now_ms() + static_cast<uint64_t>(timeout_ms);
  std::vector<epoll_event> events(256);
  char buf[16384];
  auto finish = [&](State& s) {
    s.done = true;
    --pending;
    epoll_ctl(ep.get(), EPOLL_CTL_DEL, s.fd.get(), nullptr);
  };
  while (pending > 0 && rt::now_ms() < deadline) {
    int k = epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()), 20);
    for (int e = 0; e < k; ++e) {
      State& s = st[events[e].data.u64];
      if (s.done) continue;
      uint32_t ev = events[e].events;
      if (!s.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == ECONNREFUSED || err == ETIMEDOUT) {
          ++out.connect_failed;
          finish(s);
          continue;
        }
        if (err == 0 && (ev & EPOLLOUT)) s.connected = true;
      }
      if (s.connected && !s.sent) {
        s.sent = true;
        if (!request.empty())
          ::send(s.fd.get(), request.data(), request.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        epoll_event mod{};
        mod.events = EPOLLIN | EPOLLRDHUP;
        mod.data.u64 = events[e].data.u64;
        epoll_ctl(ep.get(), EPOLL_CTL_MOD, s.fd.get(), &mod);
      }
      bool ended = false;
      for (;;) {
        ssize_t r = ::recv(s.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0) {
          s.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) ended = true;
        if (r < 0 && errno == EINTR) continue;
        break;
      }
      if (served && served(s.in)) {
        ++out.served;
        out.to_serve.add(elapsed_ms(s.t0));
        finish(s);
        if (keep_served && !ended) keep_served->push_back(std::move(s.fd));
      } else if (ended || (ev & (EPOLLERR | EPOLLHUP))) {
        ++out.closed;
        out.to_close.add(elapsed_ms(s.t0));
        finish(s);
        s.fd.reset();
      }
    }
  }
  out.hung = pending;
  return out;
}

int free_port_outside_ephemeral_range() {
  int lo = 32768, hi = 60999;
  if (FILE* f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (fscanf(f, "%d %d", &lo, &hi) != 2) lo = 32768, hi = 60999;
    fclose(f);
  }
  // Above the range when there is room, else below it (never the privileged ports).
  int from = hi < 65000 ? hi + 1 : 10000, to = hi < 65000 ? 65535 : lo - 1;
  unsigned seed = static_cast<unsigned>(now_us() ^ static_cast<uint64_t>(getpid()));
  for (int attempt = 0; attempt < 200 && to > from; ++attempt) {
    seed = seed * 1103515245u + 12345u;
    int port = from + static_cast<int>((seed >> 8) % static_cast<unsigned>(to - from + 1));
    rt::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    reactor::SocketAddress a = rt::loopback4(port);
    if (::bind(fd.get(), a.get(), a.len) == 0) return port;
  }
  return 0;
}

}  // namespace abuse
