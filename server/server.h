// The reactord daemon: opens (or adopts) listeners, starts one loop per core, reports to
// systemd, reloads its config file on SIGHUP and drains on SIGTERM/SIGINT.
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "reactor/access_list.h"
#include "reactor/admission.h"
#include "reactor/handler.h"
#include "reactor/loop_group.h"
#include "server/heartbeat.h"
#include "server/http_service/access_log.h"
#include "server/http_service/http_context.h"
#include "server/http_service/http_stats.h"
#include "server/options.h"
#include "server/protocols/protocol.h"
#include "server/proxy/proxy_stats.h"
#include "server/protocols/udp_echo.h"
#include "server/systemd.h"

namespace reactord {

// State shared by every loop of one server. Read-mostly; written by the main thread.
// `options` is the snapshot taken at start: what SIGHUP changes reaches the loops through
// EventLoop::post (their LoopConfig), never by rewriting this struct under their feet.
// Protocols never see this struct: they get `protocol_context`, and HTTP its `http` part.
struct ServerState final : MetricsSource {
  Options options;
  reactor::LoopGroup group;
  std::atomic<int64_t> open_connections{0};
  reactor::Admission admission{&open_connections};  // --max-conns across the loops
  std::atomic<bool> draining{false};
  std::atomic<bool> stopping{false};  // SIGTERM seen: not ready (--drain-grace before draining)
  HttpStatsRegistry http_stats;  // one HttpStats per loop serving http
  UdpEchoPolicy udp;             // udp-echo: whom not to answer (fixed at start), counters
  reactor::AccessList access;    // --allow/--deny, built once at start, read by every loop
  reactor::AccessList proxy_from;  // --proxy-from networks (allow rules), built once at start
  ProxyStats proxy_stats;          // PROXY headers accepted / LOCAL / rejected, all loops
  AccessLogFile access_log;      // --access-log: opened at start, reopened on SIGUSR1
  HttpContext http{&draining, &http_stats, this};
  ProtocolContext protocol_context{options, http, udp};

  // /metrics: this server's loops, HTTP and UDP counters, drain flag and connection count.
  void render(std::string& out) override;
};

// Thread affinity: run() is called once, from the main thread, which owns signal handling,
// the systemd notifications, the loop heartbeats and reloads.
class Server {
 public:
  explicit Server(Options options);
  // `source` is re-read on SIGHUP (the config file, then the same command line on top).
  // `activated` are listening sockets passed by systemd; the server takes ownership.
  Server(Options options, ConfigSource source, std::vector<ActivatedSocket> activated);
  ~Server();
  // Blocks until shutdown. Returns the process exit code (0 after a clean drain, 1 when the
  // server could not start: address in use, permission denied, ...).
  int run();

 private:
  struct OpenListener {
    const ListenSpec* spec;
    const Protocol* protocol;  // spec->protocol in source_.protocols
    std::vector<int> fds;      // indexed by loop; -1 where that loop does not serve it
    reactor::SocketAddress bound;
    bool activated = false;  // passed by systemd: not ours to unlink
    bool udp() const { return protocol->transport == Transport::kUdp; }
  };
  using Clock = std::chrono::steady_clock;

  bool open_listeners(int loops, std::string* error);
  bool adopt_activated(int loops, std::string* error);
  void close_unclaimed();
  int wait_for_shutdown();
  void serve_through_grace(const sigset_t& set, bool ticking, const char* signal_name);
  void reload();
  void apply_live(const Options& next);
  void on_tick(Clock::time_point now);
  std::string status_text() const;

  std::unique_ptr<ServerState> state_;
  ConfigSource source_;
  Options current_;  // what is in force now (main thread only)
  std::vector<ActivatedSocket> activated_;
  std::vector<std::unique_ptr<ListenSpec>> activated_specs_;  // OpenListener::spec targets
  std::vector<OpenListener> listeners_;
  // handlers_[loop] owns that loop's protocol handlers; they outlive the loops.
  std::vector<std::vector<std::unique_ptr<reactor::ConnectionHandler>>> handlers_;
  // udp_[loop]: that loop's datagram services (they close their sockets when destroyed).
  std::vector<std::vector<std::unique_ptr<reactor::FdWatcher>>> udp_;

  // Watchdog: WATCHDOG=1 goes out only when every loop has run the previous heartbeat, so one
  // stuck loop stops the pings and systemd restarts the service.
  std::unique_ptr<LoopHeartbeat> heartbeat_;
  uint64_t watchdog_usec_ = 0;
  Clock::time_point last_watchdog_{};
  Clock::time_point heartbeat_sent_{};
  bool stall_logged_ = false;
  std::string last_status_;
};

}  // namespace reactord
