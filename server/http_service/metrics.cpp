// /metrics rendering: loop counters, HTTP status counts, and kernel SYN-backlog/TIME_WAIT figures.
#include "server/http_service/metrics.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "server/protocols/udp_echo.h"

namespace reactord {

KernelTcpFigures read_kernel_tcp_figures() {
  KernelTcpFigures k;
  std::ifstream netstat("/proc/net/netstat");
  std::string names, values;
  while (std::getline(netstat, names) && std::getline(netstat, values)) {
    if (!names.starts_with("TcpExt:")) continue;
    std::istringstream ns(names), vs(values);
    std::string n, v;
    ns >> n;
    vs >> v;
    while (ns >> n && vs >> v) {
      if (n == "ListenOverflows") k.listen_overflows = std::stoll(v);
      if (n == "ListenDrops") k.listen_drops = std::stoll(v);
    }
  }
  std::ifstream sockstat("/proc/net/sockstat");
  std::string line;
  while (std::getline(sockstat, line)) {
    if (!line.starts_with("TCP:")) continue;
    std::istringstream ls(line);
    std::string w;
    while (ls >> w) {
      if (w == "tw" && ls >> w) k.time_wait = std::stoll(w);
    }
  }
  return k;
}

bool read_listen_queue(int fd, uint64_t* queued, uint64_t* backlog) {
  // For a LISTEN socket, TCP_INFO reports the accept queue: tcpi_unacked is its current
  // length and tcpi_sacked its limit. One getsockopt per listener, instead of reading all of
  // /proc/net/tcp (tens of ms with many TIME_WAIT sockets) on the loop thread.
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || info.tcpi_state != TCP_LISTEN)
    return false;
  *queued = info.tcpi_unacked;
  *backlog = info.tcpi_sacked;
  return true;
}

namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(const char* name, const std::string& labels, int64_t value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }

 private:
  std::string& out_;
};

std::string loop_label(size_t i) {
  return "loop=\"" + std::to_string(i) + "\"";
}

}  // namespace

void render_metrics(const MetricsInputs& in, std::string& out) {
  out.clear();
  Writer w(out);
  reactor::LoopGroup& g = in.group;
  const size_t loops = g.size();

  struct PerLoop {
    const char* name;
    const char* type;
    const char* help;
    const reactor::Counter reactor::LoopStats::*field;
  };
  static const PerLoop kPerLoop[] = {
      {"reactord_connections_active", "gauge", "Open connections.", &reactor::LoopStats::active},
      {"reactord_connections_accepted_total", "counter", "Connections accepted and served.",
       &reactor::LoopStats::accepted},
      {"reactord_connections_closed_total", "counter", "Connections closed.",
       &reactor::LoopStats::closed},
      {"reactord_bytes_received_total", "counter", "Bytes read from clients.",
       &reactor::LoopStats::bytes_in},
      {"reactord_bytes_sent_total", "counter", "Bytes written to clients.",
       &reactor::LoopStats::bytes_out},
      {"reactord_write_queue_bytes", "gauge",
       "Bytes queued for sending (not yet taken by the kernel).",
       &reactor::LoopStats::write_queue_bytes},
      {"reactord_backpressure_pauses_total", "counter",
       "Times reading paused because a peer's write queue crossed the high-water mark.",
       &reactor::LoopStats::backpressure_pauses},
      {"reactord_idle_timeouts_total", "counter", "Connections closed by the idle timeout.",
       &reactor::LoopStats::idle_timeouts},
      {"reactord_connection_errors_total", "counter",
       "Connections ended by RST/EPIPE or another socket error.", &reactor::LoopStats::resets},
      {"reactord_accept_pauses_total", "counter",
       "Times accepting paused for lack of descriptors or memory.",
       &reactor::LoopStats::accept_pauses},
      {"reactord_idle_reclaimable_connections", "gauge",
       "Keep-alive connections idle between requests (reclaimed first under --max-conns).",
       &reactor::LoopStats::reclaimable},
      {"reactord_idle_reclaimed_total", "counter",
       "Idle keep-alive connections closed to admit new ones at --max-conns.",
       &reactor::LoopStats::reclaimed},
      {"reactord_denied_connections_total", "counter",
       "Connections reset at accept by --allow/--deny.", &reactor::LoopStats::denied},
      {"reactord_uring_enobufs_total", "counter",
       "io_uring multishot receives re-armed after the provided-buffer ring ran dry.",
       &reactor::LoopStats::enobufs},
      {"reactord_memory_used_bytes", "gauge",
       "Bytes counted against the loop's --buffer-memory budget (queued, held, bodies).",
       &reactor::LoopStats::memory_used},
      {"reactord_memory_limit_bytes", "gauge", "The loop's --buffer-memory budget.",
       &reactor::LoopStats::memory_limit},
      {"reactord_memory_pressure_pauses_total", "counter",
       "Reads paused because the memory budget was filling up (the connection held the most).",
       &reactor::LoopStats::memory_pressure_pauses},
      {"reactord_memory_closes_total", "counter",
       "Connections closed because the memory budget was exceeded (each held the most).",
       &reactor::LoopStats::memory_closes},
      {"reactord_pool_exhausted_total", "counter",
       "Times the loop's buffer pool had no buffer to give (the biggest holder is closed).",
       &reactor::LoopStats::pool_exhausted},
      {"reactord_pool_buffers_in_use", "gauge",
       "Pool buffers held by connections and protocols (io_uring ring buffers included once "
       "delivered).",
       &reactor::LoopStats::pool_buffers_in_use},
      {"reactord_pool_buffers_resident", "gauge",
       "Pool buffers whose pages are resident (in use, or free and not yet given back).",
       &reactor::LoopStats::pool_buffers_resident},
      {"reactord_uring_ring_copies_total", "counter",
       "io_uring receive-ring buffers copied out of a write queue so a slow peer never holds one.",
       &reactor::LoopStats::ring_copies},
  };
  for (const PerLoop& m : kPerLoop) {
    w.family(m.name, m.type, m.help);
    for (size_t i = 0; i < loops; ++i)
      w.sample(m.name, loop_label(i), static_cast<int64_t>((g.loop(i).stats().*m.field).get()));
  }
  w.family("reactord_rejected_connections_total", "counter",
           "Connections closed at once: reason=max_conns (--max-conns reached) or emfile (out of "
           "descriptors).");
  for (size_t i = 0; i < loops; ++i) {
    w.sample("reactord_rejected_connections_total", loop_label(i) + ",reason=\"max_conns\"",
             static_cast<int64_t>(g.loop(i).stats().rejected_max_conns.get()));
    w.sample("reactord_rejected_connections_total", loop_label(i) + ",reason=\"emfile\"",
             static_cast<int64_t>(g.loop(i).stats().rejected_emfile.get()));
  }

  // HTTP responses by status, summed over loops.
  std::vector<uint64_t> by_status(HttpStats::kMaxStatus, 0);
  uint64_t timeouts = 0, heads = 0, bodies = 0, bad = 0, notimpl = 0;
  in.http.for_each([&](const HttpStats& s) {
    for (int code = 0; code < HttpStats::kMaxStatus; ++code)
      by_status[code] += s.by_status[code].get();
    timeouts += s.header_timeouts.get();
    heads += s.too_large_heads.get();
    bodies += s.too_large_bodies.get();
    bad += s.bad_requests.get();
    notimpl += s.not_implemented.get();
  });
  w.family("reactord_http_responses_total", "counter", "HTTP responses sent, by status code.");
  for (int code = 100; code < HttpStats::kMaxStatus; ++code) {
    if (by_status[code])
      w.sample("reactord_http_responses_total", "code=\"" + std::to_string(code) + "\"",
               static_cast<int64_t>(by_status[code]));
  }
  w.family("reactord_http_rejected_requests_total", "counter",
           "HTTP requests refused, by limit or fault.");
  w.sample("reactord_http_rejected_requests_total", "reason=\"header_timeout\"",
           static_cast<int64_t>(timeouts));
  w.sample("reactord_http_rejected_requests_total", "reason=\"header_too_large\"",
           static_cast<int64_t>(heads));
  w.sample("reactord_http_rejected_requests_total", "reason=\"body_too_large\"",
           static_cast<int64_t>(bodies));
  w.sample("reactord_http_rejected_requests_total", "reason=\"bad_request\"",
           static_cast<int64_t>(bad));
  w.sample("reactord_http_rejected_requests_total", "reason=\"not_implemented\"",
           static_cast<int64_t>(notimpl));

  // UDP echo, summed over its sockets.
  uint64_t udp_in = 0, udp_own = 0, udp_low = 0;
  in.udp.for_each_stats([&](const UdpEchoStats& s) {
    udp_in += s.datagrams.get();
    udp_own += s.ignored_own_port.get();
    udp_low += s.ignored_low_port.get();
  });
  w.family("reactord_udp_datagrams_total", "counter", "UDP echo datagrams received.");
  w.sample("reactord_udp_datagrams_total", "", static_cast<int64_t>(udp_in));
  w.family("reactord_udp_ignored_total", "counter",
           "UDP echo datagrams not answered: reason=own_port (sent from one of this server's "
           "udp-echo ports) or low_port (source port below 1024): answering could start a loop.");
  w.sample("reactord_udp_ignored_total", "reason=\"own_port\"", static_cast<int64_t>(udp_own));
  w.sample("reactord_udp_ignored_total", "reason=\"low_port\"", static_cast<int64_t>(udp_low));

  w.family("reactord_proxy_headers_total", "counter",
           "PROXY protocol headers from --proxy-from balancers: result=accepted (the header's "
           "source is the client), local (the balancer's own check), rejected (malformed, cut "
           "short or late; the connection was closed unanswered).");
  w.sample("reactord_proxy_headers_total", "result=\"accepted\"",
           static_cast<int64_t>(in.proxy.accepted.load(std::memory_order_relaxed)));
  w.sample("reactord_proxy_headers_total", "result=\"local\"",
           static_cast<int64_t>(in.proxy.local.load(std::memory_order_relaxed)));
  w.sample("reactord_proxy_headers_total", "result=\"rejected\"",
           static_cast<int64_t>(in.proxy.rejected.load(std::memory_order_relaxed)));

  w.family("reactord_backend_info", "gauge", "The I/O backend in effect.");
  w.sample("reactord_backend_info", std::string("backend=\"") + g.backend_name() + "\"", 1);
  w.family("reactord_draining", "gauge", "1 while the server drains for shutdown.");
  w.sample("reactord_draining", "", in.draining.load() ? 1 : 0);
  w.family("reactord_open_connections", "gauge",
           "Open connections over all loops (the --max-conns count).");
  w.sample("reactord_open_connections", "", in.open_connections.load());

  // Kernel figures at scrape time: what operators need to see SYN-backlog and TIME_WAIT trouble.
  KernelTcpFigures k = read_kernel_tcp_figures();
  w.family(
      "reactord_kernel_listen_overflows_total", "counter",
      "TcpExtListenOverflows: connections dropped because an accept queue was full (whole host).");
  w.sample("reactord_kernel_listen_overflows_total", "", k.listen_overflows);
  w.family("reactord_kernel_listen_drops_total", "counter",
           "TcpExtListenDrops: SYNs/connections dropped at LISTEN sockets (whole host).");
  w.sample("reactord_kernel_listen_drops_total", "", k.listen_drops);
  w.family("reactord_kernel_tcp_time_wait_sockets", "gauge",
           "TCP sockets in TIME_WAIT (whole host, /proc/net/sockstat).");
  w.sample("reactord_kernel_tcp_time_wait_sockets", "", k.time_wait);

  w.family("reactord_listener_accept_queue", "gauge",
           "Connections waiting in this listener's accept queue (kernel, at scrape time).");
  std::string backlog_lines;
  for (size_t i = 0; i < loops; ++i) {
    // Other loops' listeners: the list and its names are fixed once the loops run, but a
    // drain may be closing the socket right now, so the fd is read under the listener's lock
    // (one getsockopt; never a descriptor number that was closed and handed out again).
    for (const auto& l : g.loop(i).listeners()) {
      uint64_t queued = 0, backlog = 0;
      bool listening = false;
      l->with_open_fd([&](int fd) { listening = read_listen_queue(fd, &queued, &backlog); });
      if (!listening) continue;
      std::string labels = loop_label(i) + ",protocol=\"" + l->protocol + "\",address=\"" +
                           l->address.to_string() + "\"";
      w.sample("reactord_listener_accept_queue", labels, static_cast<int64_t>(queued));
      backlog_lines +=
          "reactord_listener_backlog{" + labels + "} " + std::to_string(backlog) + "\n";
    }
  }
  w.family(
      "reactord_listener_backlog", "gauge",
      "Accept-queue limit the kernel applies to this listener (--backlog capped by somaxconn).");
  out += backlog_lines;
}

}  // namespace reactord
