// Server: listener set-up (probe bind, reuseport group, somaxconn check) or adoption of
// systemd's sockets, loop start-up, systemd notifications and watchdog heartbeats, SIGHUP
// reload, signal-driven drain.
#include "server/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "reactor/log.h"
#include "server/build_info.h"
#include "server/http_service/metrics.h"
#include "server/proxy/proxy_gate.h"

namespace reactord {
namespace {

// The LoopConfig fields a reload may change; the same function sets them at start so the two
// paths cannot disagree on how an option maps to the loop.
void set_live_loop_fields(const Options& o, reactor::LoopConfig* c) {
  c->high_water = o.high_water;
  c->low_water = o.low_water;
  c->idle_timeout_ms = static_cast<uint64_t>(std::llround(o.idle_timeout_s * 1000));
  c->reset_on_idle_timeout = o.linger_reset;
  c->max_conns = o.max_conns;
  c->buffer_memory = o.buffer_memory;
}

std::string rlim_text(rlim_t v) {
  return v == RLIM_INFINITY ? "unlimited" : std::to_string(static_cast<unsigned long long>(v));
}

// Every connection is a descriptor: the usual soft limit of 1024 would cap the server far
// below what the hard limit (LimitNOFILE=, typically 524288) allows.
void raise_nofile_limit(bool raise) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    REACTOR_LOG_WARN("RLIMIT_NOFILE: getrlimit failed: %s", strerror(errno));
    return;
  }
  rlim_t before = rl.rlim_cur;
  if (raise && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      REACTOR_LOG_WARN("RLIMIT_NOFILE: cannot raise the soft limit from %s to %s: %s",
                       rlim_text(before).c_str(), rlim_text(rl.rlim_max).c_str(), strerror(errno));
      rl.rlim_cur = before;
    }
  }
  if (rl.rlim_cur != before) {
    REACTOR_LOG_INFO("RLIMIT_NOFILE: soft limit raised from %s to %s (hard limit %s)",
                     rlim_text(before).c_str(), rlim_text(rl.rlim_cur).c_str(),
                     rlim_text(rl.rlim_max).c_str());
  } else {
    REACTOR_LOG_INFO("RLIMIT_NOFILE: soft limit %s, hard limit %s", rlim_text(rl.rlim_cur).c_str(),
                     rlim_text(rl.rlim_max).c_str());
  }
}

// "reactord: X (see --help)" from load_options, reduced to X for a log line.
std::string bare_message(std::string m) {
  if (m.starts_with("reactord: ")) m.erase(0, 10);
  const std::string suffix = " (see --help)";
  if (m.ends_with(suffix)) m.erase(m.size() - suffix.size());
  return m;
}

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

// Without a ConfigSource, SIGHUP re-reads only the default config file (no command line), and
// the protocols are reactord's own.
Server::Server(Options options) : Server(std::move(options), ConfigSource{}, {}) {}

Server::Server(Options options, ConfigSource source, std::vector<ActivatedSocket> activated)
    : state_(std::make_unique<ServerState>()),
      source_(std::move(source)),
      activated_(std::move(activated)) {
  current_ = options;
  state_->options = std::move(options);
}

Server::~Server() {
  // Loops reference the handlers: make sure none is running before handlers_ goes away.
  state_->group.stop();
  state_->group.join();
  close_unclaimed();
}

void Server::close_unclaimed() {
  for (auto& l : listeners_) {
    for (int& fd : l.fds) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
  for (auto& s : activated_) {
    if (s.fd >= 0) ::close(s.fd);
    s.fd = -1;
  }
}

static std::string bind_error_text(const std::string& proto, const std::string& addr, int err,
                                   const std::string& detail) {
  std::string why;
  if (err == EADDRINUSE)
    why = "address in use (another process is serving it)";
  else if (err == EACCES || err == EPERM)
    why = "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)";
  else if (err == EADDRNOTAVAIL)
    why = "address not available on this machine";
  else
    why = detail.empty() ? strerror(err) : detail;
  return "cannot listen " + proto + " on " + addr + ": " + why;
}

bool Server::open_listeners(int loops, std::string* error) {
  const Options& o = state_->options;
  reactor::ListenOptions lo;
  lo.backlog = o.backlog;
  lo.defer_accept_s = o.defer_accept_s;
  lo.fastopen_queue = o.fastopen_queue;
  for (const ListenSpec& spec : o.listens) {
    const Protocol* protocol = source_.protocols.find(spec.protocol);
    if (!protocol) {
      *error = "cannot listen " + spec.protocol + " on " + spec.text +
               ": unknown protocol (known: " + source_.protocols.names() + ")";
      return false;
    }
    OpenListener ol{&spec, protocol, {}, spec.address};
    const bool udp = ol.udp();
    if (udp && spec.address.is_unix()) {
      *error = "cannot listen " + spec.protocol + " on " + spec.text + ": UDP needs HOST:PORT";
      return false;
    }
    // Refuse to join someone else's SO_REUSEPORT group: bind once without it first.
    int err =
        udp ? probe_udp_address_free(spec.address) : reactor::probe_address_free(spec.address);
    if (err != 0) {
      *error = bind_error_text(spec.protocol, spec.text, err, "");
      return false;
    }
    int count = spec.address.is_unix() ? 1 : loops;
    reactor::SocketAddress addr = spec.address;
    for (int i = 0; i < count; ++i) {
      std::string detail;
      int fd = udp ? open_udp_socket(addr, true, &err, &detail)
                   : reactor::open_listen_socket(addr, lo, &err, &detail);
      if (fd < 0) {
        *error = bind_error_text(spec.protocol, spec.text, err, detail);
        listeners_.push_back(std::move(ol));
        return false;
      }
      if (i == 0) {
        ol.bound = reactor::bound_address(fd);
        if (!addr.is_unix()) addr.set_port(ol.bound.port());  // port 0: the rest join it
        if (addr.is_unix()) ol.bound = addr;
      }
      ol.fds.push_back(fd);
    }
    // Datagrams from this very port must never be answered (an echo loop with ourselves).
    if (udp) state_->udp.add_own(ol.bound);
    listeners_.push_back(std::move(ol));
  }
  return true;
}

// systemd's sockets, grouped by name (= protocol). With at least as many sockets as loops
// (e.g. several ReusePort= sockets), socket k goes to loop k % loops. With fewer, loop i also
// serves socket i % count through a dup() of it: all loops then share that socket's accept
// queue (each new connection wakes them and one wins the accept), so every core serves every
// protocol even when the unit has a single ListenStream=.
bool Server::adopt_activated(int loops, std::string* error) {
  std::vector<std::string> names;
  for (const auto& s : activated_) {
    if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
  }
  for (const std::string& name : names) {
    const Protocol* protocol = source_.protocols.find(name);
    if (!protocol) {
      *error = "socket activation: a socket is named '" + name +
               "', not a protocol (known: " + source_.protocols.names() + ")";
      return false;
    }
    std::vector<int> fds;
    for (auto& s : activated_) {
      if (s.name == name) fds.push_back(s.fd);
    }
    int count = static_cast<int>(fds.size());
    for (int k = 0; k < count; ++k) {
      auto spec = std::make_unique<ListenSpec>();
      spec->protocol = name;
      spec->address = reactor::bound_address(fds[k]);
      spec->text = spec->address.to_string();
      OpenListener ol{spec.get(), protocol, std::vector<int>(loops, -1), spec->address, true};
      if (ol.udp()) state_->udp.add_own(ol.bound);
      std::vector<int> targets;
      for (int i = k; i < loops; i += count) targets.push_back(i);
      if (targets.empty()) targets.push_back(k % loops);
      for (size_t t = 0; t < targets.size(); ++t) {
        int fd = t == 0 ? fds[k] : fcntl(fds[k], F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
          REACTOR_LOG_WARN("socket activation: cannot share fd %d with loop %d: %s", fds[k],
                           targets[t], strerror(errno));
          continue;
        }
        ol.fds[targets[t]] = fd;
      }
      activated_specs_.push_back(std::move(spec));
      listeners_.push_back(std::move(ol));
    }
  }
  activated_.clear();  // every fd now belongs to an OpenListener
  return true;
}

int Server::run() {
  ServerState& st = *state_;
  const Options& o = st.options;
  reactor::set_log_level(o.log_level);

  // Signals: SIGPIPE never kills us (sends also use MSG_NOSIGNAL); the others are blocked in
  // every thread and taken synchronously by the main thread with sigwait.
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  raise_nofile_limit(o.raise_nofile);
  if (!o.access_log.empty()) {
    std::string why;
    if (!st.access_log.open(o.access_log, &why)) {
      REACTOR_LOG_ERROR("%s", why.c_str());
      return 1;
    }
    st.http.access_log = &st.access_log;  // before the loops copy the context
    REACTOR_LOG_INFO("access log %s", o.access_log == "-" ? "on stdout" : o.access_log.c_str());
  }
  if (!o.config_path.empty()) REACTOR_LOG_INFO("config file %s", o.config_path.c_str());

  int loops = o.threads > 0 ? o.threads : static_cast<int>(reactor::allowed_cpus().size());
  std::string error;
  if (!open_listeners(loops, &error)) {
    REACTOR_LOG_ERROR("%s", error.c_str());
    return 1;
  }
  if (!adopt_activated(loops, &error)) {
    REACTOR_LOG_ERROR("%s", error.c_str());
    return 1;
  }
  if (listeners_.empty()) {
    REACTOR_LOG_ERROR("nothing to serve: no --listen and no socket passed by systemd");
    return 1;
  }
  if (st.udp.has_own()) st.udp.note_interface_addresses();
  int somaxconn = reactor::read_somaxconn();
  int backlog = o.backlog;
  if (!o.listens.empty() && somaxconn > 0 && backlog > somaxconn) {
    REACTOR_LOG_WARN(
        "--backlog %d exceeds net.core.somaxconn %d: the kernel caps accept queues at %d "
        "(raise it with sysctl -w net.core.somaxconn=%d)",
        backlog, somaxconn, somaxconn, backlog);
    backlog = somaxconn;
  }

  reactor::LoopGroup::Options go;
  go.threads = loops;
  go.pin = o.pin;
  go.loop.backend = o.backend;
  set_live_loop_fields(o, &go.loop);
  go.loop.open_connections = &st.open_connections;
  go.loop.admission = &st.admission;
  for (const auto& text : o.allow) {
    reactor::AccessList::Rule r;
    if (reactor::AccessList::parse_cidr(text, &r, &error)) st.access.allow(r);
  }
  for (const auto& text : o.deny) {
    reactor::AccessList::Rule r;
    if (reactor::AccessList::parse_cidr(text, &r, &error)) st.access.deny(r);
  }
  go.loop.access = &st.access;
  for (const auto& text : o.proxy_from) {
    reactor::AccessList::Rule r;
    if (reactor::AccessList::parse_cidr(text, &r, &error)) st.proxy_from.allow(r);
  }
  if (!st.proxy_from.empty()) go.loop.proxy_sources = &st.proxy_from;
  st.http.stopping = &st.stopping;
  const ProxyGateConfig gate{&st.proxy_from, &st.access,
                             static_cast<uint64_t>(o.header_timeout_s * 1000), &st.proxy_stats};
  udp_.resize(loops);
  handlers_.resize(loops);

  auto init = [this, &st, &gate](reactor::EventLoop& loop, int index) {
    for (auto& l : listeners_) {
      if (static_cast<size_t>(index) >= l.fds.size() || l.fds[index] < 0) continue;
      if (l.udp()) {
        udp_[index].push_back(
            l.protocol->make_datagram_service(loop, l.fds[index], st.protocol_context));
        l.fds[index] = -1;  // the service owns it now
        continue;
      }
      auto handler = l.protocol->make_handler(loop, st.protocol_context);
      if (!handler) throw std::runtime_error("protocol " + l.protocol->name + " made no handler");
      reactor::ConnectionHandler* first = handler.get();
      handlers_[index].push_back(std::move(handler));
      if (!st.proxy_from.empty() && !l.bound.is_unix()) {
        handlers_[index].push_back(std::make_unique<ProxyGate>(first, gate));
        first = handlers_[index].back().get();
      }
      reactor::Listener& added = loop.add_listener(l.fds[index], first, l.spec->protocol);
      added.unlink_on_close = !l.activated;  // systemd's socket file outlives us
      l.fds[index] = -1;                     // the loop owns it now
    }
  };
  if (!st.group.start(go, init, &error)) {
    REACTOR_LOG_ERROR("cannot start event loops: %s", error.c_str());
    return 1;
  }
  if (!st.group.fallback_note().empty()) REACTOR_LOG_WARN("%s", st.group.fallback_note().c_str());

  std::string names;
  for (auto& l : listeners_) {
    if (l.activated) {
      REACTOR_LOG_INFO("listening %s on %s (socket from systemd)", l.spec->protocol.c_str(),
                       l.bound.to_string().c_str());
    } else {
      REACTOR_LOG_INFO("listening %s on %s", l.spec->protocol.c_str(), l.bound.to_string().c_str());
    }
    names += " " + l.spec->protocol + "=" + l.bound.to_string();
  }
  REACTOR_LOG_INFO("reactord %s started: backend %s, %d thread%s%s, backlog %d, listeners:%s",
                   version(), st.group.backend_name(), loops, loops == 1 ? "" : "s",
                   o.pin ? " (pinned)" : "", backlog, names.c_str());

  heartbeat_ = std::make_unique<LoopHeartbeat>(st.group);
  watchdog_usec_ = watchdog_usec();
  // Every listener is bound and every loop has registered its own: now we are ready.
  last_status_ = status_text();
  notify_manager("READY=1\nSTATUS=" + last_status_);
  REACTOR_LOG_INFO("ready");
  if (watchdog_usec_ > 0) {
    REACTOR_LOG_INFO("systemd watchdog: %.3gs; pinging every %.3gs while every loop answers",
                     watchdog_usec_ / 1e6, watchdog_usec_ / 2e6);
    last_watchdog_ = Clock::now();
    heartbeat_sent_ = last_watchdog_;
    heartbeat_->send();
  }
  return wait_for_shutdown();
}

void ServerState::render(std::string& out) {
  render_metrics({group, http_stats, udp, draining, open_connections, proxy_stats}, out);
}

std::string Server::status_text() const {
  const ServerState& st = *state_;
  char text[160];
  long long conns = static_cast<long long>(st.open_connections.load(std::memory_order_relaxed));
  size_t loops = st.group.size();
  snprintf(text, sizeof text, "%s%lld connection%s; backend %s, %zu loop%s",
           st.draining.load() ? "draining: " : "", conns, conns == 1 ? "" : "s",
           st.group.backend_name(), loops, loops == 1 ? "" : "s");
  return text;
}

void Server::on_tick(Clock::time_point now) {
  ServerState& st = *state_;
  if (watchdog_usec_ > 0 && now - last_watchdog_ >= std::chrono::microseconds(watchdog_usec_ / 2)) {
    last_watchdog_ = now;
    if (st.draining.load()) {
      // Loops that finished draining have left run() and answer nothing; the drain timeout
      // and TimeoutStopSec= bound this phase instead.
      notify_manager("WATCHDOG=1");
    } else {
      std::string late;
      for (int i : heartbeat_->late()) {  // appended piecewise: g++ 12 -O3 warns on a + chain
        if (!late.empty()) late += ',';
        late += std::to_string(i);
      }
      if (late.empty()) {
        notify_manager("WATCHDOG=1");
        heartbeat_sent_ = now;
        heartbeat_->send();
        stall_logged_ = false;
      } else if (!stall_logged_) {
        double waited = std::chrono::duration<double>(now - heartbeat_sent_).count();
        REACTOR_LOG_ERROR(
            "loop %s has not run a task for %.3gs: withholding WATCHDOG=1 so systemd restarts "
            "the service",
            late.c_str(), waited);
        stall_logged_ = true;
      }
    }
  }
  if (notify_enabled()) {
    std::string status = status_text();
    if (status != last_status_) {
      notify_manager("STATUS=" + status);
      last_status_ = status;
    }
  }
}

void Server::reload() {
  notify_manager("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
  Options next;
  ParseResult r = load_options(source_, &next);
  if (r.action == ParseResult::kExit) {
    // One error line per fault in the file, each at error priority for `journalctl -p err`.
    std::string all = bare_message(r.message);
    for (size_t start = 0; start < all.size();) {
      size_t end = std::min(all.find('\n', start), all.size());
      REACTOR_LOG_ERROR("SIGHUP: reload failed, keeping the settings in force: %.*s",
                        static_cast<int>(end - start), all.data() + start);
      start = end + 1;
    }
  } else if (next.config_path.empty() && current_.config_path.empty()) {
    REACTOR_LOG_INFO("SIGHUP: nothing to reload (no config file in use)");
  } else {
    REACTOR_LOG_INFO("SIGHUP: reloading %s", next.config_path.empty()
                                                 ? "(config file gone: command line and defaults)"
                                                 : next.config_path.c_str());
    apply_live(next);
  }
  last_status_ = status_text();
  notify_manager("READY=1\nSTATUS=" + last_status_);
}

void Server::apply_live(const Options& next) {
  ServerState& st = *state_;
  Options merged = current_;
  int live = 0;
  for (const OptionDef& d : option_table(source_.protocols)) {
    std::string was = d.show(current_);
    std::string now = d.show(next);
    if (was == now) continue;
    if (d.reload == Reload::kLive) {
      d.copy(next, &merged);
      REACTOR_LOG_INFO("reload: %s %s -> %s", std::string(d.key).c_str(), was.c_str(), now.c_str());
      ++live;
    } else {
      REACTOR_LOG_WARN("reload: %s changed (%s -> %s) but needs a restart; still using %s",
                       std::string(d.key).c_str(), was.c_str(), now.c_str(), was.c_str());
    }
  }
  merged.config_path = next.config_path;
  current_ = merged;
  if (live == 0) {
    REACTOR_LOG_INFO("reload: no live setting changed");
    return;
  }
  reactor::set_log_level(merged.log_level);
  auto settings = std::make_shared<const Options>(merged);
  for (size_t i = 0; i < st.group.size(); ++i) {
    st.group.loop(i).post([settings](reactor::EventLoop& loop) {
      reactor::LoopConfig& c = loop.mutable_config();
      uint64_t old_idle = c.idle_timeout_ms;
      set_live_loop_fields(*settings, &c);
      // A longer (or unchanged) timeout needs nothing: armed idle timers re-check the config
      // when they fire and re-arm for the rest. A shorter one, or one that was off, must be
      // armed now or existing connections would keep the old deadline (or none).
      uint64_t idle = c.idle_timeout_ms;
      if (loop.draining() || idle == 0 || (old_idle != 0 && idle >= old_idle)) return;
      loop.for_each_connection([&loop, idle](reactor::Connection& conn) {
        // A connection past its FIN uses the same timer for its linger: leave it.
        if (!conn.is_open() || conn.has(reactor::Connection::kShutWr) ||
            conn.has(reactor::Connection::kConnecting))
          return;
        loop.timers().schedule(&conn, idle);
      });
    });
  }
}

// --drain-grace: not ready, yet serving as before, so the balancer (health checks on /ready,
// the agent check, a Kubernetes endpoint update) stops sending new connections before the
// listeners close. A second signal ends the grace at once.
void Server::serve_through_grace(const sigset_t& set, bool ticking, const char* signal_name) {
  const double grace_s = current_.drain_grace_s;
  if (grace_s <= 0) return;
  REACTOR_LOG_INFO("%s: not ready; serving for the drain grace of %.3gs", signal_name, grace_s);
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(grace_s));
  for (auto now = Clock::now(); now < end; now = Clock::now()) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(end - now);
    left = std::min(left, std::chrono::microseconds(100000));
    timespec ts{0, static_cast<long>(left.count()) * 1000};
    int s = sigtimedwait(&set, nullptr, &ts);
    if (ticking) on_tick(Clock::now());
    if (s == SIGINT || s == SIGTERM) {
      REACTOR_LOG_WARN("second signal: ending the drain grace");
      return;
    }
  }
}

int Server::wait_for_shutdown() {
  ServerState& st = *state_;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  // Without systemd nothing needs the main thread between signals: block in sigwait. Under
  // systemd it also wakes for watchdog pings and status updates.
  const bool ticking = notify_enabled() || watchdog_usec_ > 0;
  auto next_wait = [this]() {
    std::chrono::microseconds wait = std::chrono::seconds(1);
    if (watchdog_usec_ > 0) {
      auto due = last_watchdog_ + std::chrono::microseconds(watchdog_usec_ / 2);
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(due - Clock::now());
      wait = std::clamp(left, std::chrono::microseconds(1000), wait);
    }
    timespec ts{static_cast<time_t>(wait.count() / 1000000),
                static_cast<long>(wait.count() % 1000000) * 1000};
    return ts;
  };
  int sig = 0;
  for (;;) {
    if (ticking) {
      timespec ts = next_wait();
      sig = sigtimedwait(&set, nullptr, &ts);
      on_tick(Clock::now());
      if (sig < 0) continue;  // timeout or EINTR
    } else if (sigwait(&set, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      reload();
      continue;
    }
    if (sig == SIGUSR1) {  // logrotate's postrotate: each loop reopens before its next write
      st.access_log.reopen();
      REACTOR_LOG_INFO("SIGUSR1: reopening the access log");
      continue;
    }
    break;
  }
  st.stopping.store(true);  // /ready and the agent check answer "draining" from now on
  serve_through_grace(set, ticking, sig == SIGINT ? "SIGINT" : "SIGTERM");
  double timeout_s = current_.drain_timeout_s;
  st.draining.store(true);  // before the log line: /health says 503 from the moment we say so
  REACTOR_LOG_INFO("%s: draining (closing listeners; at most %.3gs for open connections)",
                   sig == SIGINT ? "SIGINT" : "SIGTERM", timeout_s);
  last_status_ = status_text();
  notify_manager("STOPPING=1\nSTATUS=" + last_status_);
  st.group.drain(static_cast<uint64_t>(std::llround(timeout_s * 1000)));
  while (st.group.running() > 0) {
    timespec ts{0, 100 * 1000 * 1000};
    int s = sigtimedwait(&set, nullptr, &ts);
    if (ticking) on_tick(Clock::now());
    if (s == SIGINT || s == SIGTERM) {
      REACTOR_LOG_WARN("second signal: stopping now");
      st.group.stop();
    }
  }
  st.group.join();
  REACTOR_LOG_INFO("stopped");
  return 0;
}

}  // namespace reactord
