// Server: listener set-up (probe bind, reuseport group, somaxconn check), loop start-up,
// signal-driven drain.
#include "server/server.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "reactor/log.h"
#include "server/protocols/registry.h"

namespace reactord {

Server::Server(Options options) : state_(std::make_unique<ServerState>()) {
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
  for (const ListenSpec& spec : o.listens) {
    OpenListener ol{&spec, {}, spec.address};
    // Refuse to join someone else's SO_REUSEPORT group: bind once without it first.
    int err = reactor::probe_address_free(spec.address);
    if (err != 0) {
      *error = bind_error_text(spec.protocol, spec.text, err, "");
      return false;
    }
    int count = spec.address.is_unix() ? 1 : loops;
    reactor::SocketAddress addr = spec.address;
    for (int i = 0; i < count; ++i) {
      std::string detail;
      int fd = reactor::open_listen_socket(addr, lo, &err, &detail);
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
    listeners_.push_back(std::move(ol));
  }
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
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  int loops = o.threads > 0 ? o.threads : static_cast<int>(reactor::allowed_cpus().size());
  std::string error;
  if (!open_listeners(loops, &error)) {
    LOG_ERROR("%s", error.c_str());
    return 1;
  }
  int somaxconn = reactor::read_somaxconn();
  int backlog = o.backlog;
  if (somaxconn > 0 && backlog > somaxconn) {
    LOG_WARN(
        "--backlog %d exceeds net.core.somaxconn %d: the kernel caps accept queues at %d "
        "(raise it with sysctl -w net.core.somaxconn=%d)",
        backlog, somaxconn, somaxconn, backlog);
    backlog = somaxconn;
  }

  reactor::LoopGroup::Options go;
  go.threads = loops;
  go.pin = o.pin;
  go.loop.backend = o.backend;
  go.loop.high_water = o.high_water;
  go.loop.low_water = o.low_water;
  go.loop.idle_timeout_ms = static_cast<uint64_t>(std::llround(o.idle_timeout_s * 1000));
  go.loop.reset_on_idle_timeout = o.linger_reset;
  go.loop.open_connections = &st.open_connections;
  go.loop.max_conns = o.max_conns;
  handlers_.resize(loops);

  auto init = [this, &st](reactor::EventLoop& loop, int index) {
    for (auto& l : listeners_) {
      if (static_cast<size_t>(index) >= l.fds.size()) continue;
      auto handler = make_protocol_handler(l.spec->protocol, loop, st);
      loop.add_listener(l.fds[index], handler.get(), l.spec->protocol);
      l.fds[index] = -1;  // the loop owns it now
      handlers_[index].push_back(std::move(handler));
    }
  };
  if (!st.group.start(go, init, &error)) {
    LOG_ERROR("cannot start event loops: %s", error.c_str());
    return 1;
  }
  if (!st.group.fallback_note().empty()) LOG_INFO("%s", st.group.fallback_note().c_str());

  std::string names;
  for (auto& l : listeners_) {
    LOG_INFO("listening %s on %s", l.spec->protocol.c_str(), l.bound.to_string().c_str());
    names += " " + l.spec->protocol + "=" + l.bound.to_string();
  }
  LOG_INFO("reactord 0.1.0 started: backend %s, %d thread%s%s, backlog %d, listeners:%s",
           st.group.backend_name(), loops, loops == 1 ? "" : "s", o.pin ? " (pinned)" : "", backlog,
           names.c_str());
  LOG_INFO("ready");
  return wait_for_shutdown();
}

int Server::wait_for_shutdown() {
  ServerState& st = *state_;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  for (;;) {
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      LOG_INFO("SIGHUP: nothing to reload (no config file in use)");
      continue;
    }
    break;
  }
  double timeout_s = st.options.drain_timeout_s;
  LOG_INFO("%s: draining (closing listeners; at most %.3gs for open connections)",
           sig == SIGINT ? "SIGINT" : "SIGTERM", timeout_s);
  st.draining.store(true);
  st.group.drain(static_cast<uint64_t>(std::llround(timeout_s * 1000)));
  while (st.group.running() > 0) {
    timespec ts{0, 100 * 1000 * 1000};
    int s = sigtimedwait(&set, nullptr, &ts);
    if (s == SIGINT || s == SIGTERM) {
      LOG_WARN("second signal: stopping now");
      st.group.stop();
    }
  }
  st.group.join();
  LOG_INFO("stopped");
  return 0;
}

}  // namespace reactord
