// Prometheus text exposition (0.0.4) of the server's counters, the standard process_* metrics,
// and the host-wide kernel overload figures.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "reactor/loop_group.h"
#include "server/http_service/http_stats.h"
#include "server/proxy/proxy_stats.h"

namespace reactord {

class UdpEchoPolicy;

// What a scrape reads: every loop's counters and listeners, and the server-wide figures.
struct MetricsInputs {
  reactor::LoopGroup& group;
  const HttpStatsRegistry& http;
  const UdpEchoPolicy& udp;  // its per-socket counters
  const std::atomic<bool>& draining;
  const std::atomic<int64_t>& open_connections;
  const ProxyStats& proxy;  // PROXY headers (--proxy-from)
};

// Renders every metric into `out` (cleared first). Called on a loop thread when /metrics is
// scraped; reads other loops' counters through relaxed atomics and the kernel's figures from
// /proc at that moment.
void render_metrics(const MetricsInputs& in, std::string& out);

// This process's figures for the process_* metrics (-1 where unreadable).
struct ProcessFigures {
  double cpu_seconds = -1;  // utime + stime
  double resident_bytes = -1;
  double virtual_bytes = -1;
  double open_fds = -1;
  double max_fds = -1;             // RLIMIT_NOFILE soft limit
  double start_time_seconds = -1;  // since the epoch
};
ProcessFigures read_process_figures();

// Host-wide kernel figures (every process's sockets, not only ours), exposed for tests.
struct KernelTcpFigures {
  int64_t listen_overflows = -1;  // TcpExt ListenOverflows (accept queue full)
  int64_t listen_drops = -1;      // TcpExt ListenDrops
  int64_t time_wait = -1;         // TCP sockets in TIME_WAIT (sockstat "tw")
};
KernelTcpFigures read_kernel_tcp_figures();
// For a listening TCP socket: its accept queue's current length and limit (TCP_INFO).
bool read_listen_queue(int fd, uint64_t* queued, uint64_t* backlog);

}  // namespace reactord
