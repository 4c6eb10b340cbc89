// /metrics rendering: loop counters, HTTP status counts, and kernel SYN-backlog/TIME_WAIT figures.
#include "server/http_service/metrics.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "server/build_info.h"
#include "server/protocols/udp_echo.h"

namespace reactord {

ProcessFigures read_process_figures() {
  ProcessFigures p;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  // /proc/self/stat: fields after the ")" that ends the command name (which may hold spaces).
  std::ifstream stat_file("/proc/self/stat");
  std::string all((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  size_t close = all.rfind(')');
  if (close != std::string::npos) {
    std::istringstream f(all.substr(close + 2));
    std::string v;
    // Field 3 (state) is the first here; utime is 14, stime 15, starttime 22, vsize 23, rss 24.
    std::vector<std::string> fields;
    while (f >> v) fields.push_back(v);
    auto field = [&fields](size_t n) {
      return n - 3 < fields.size() ? std::stod(fields[n - 3]) : -1;
    };
    p.cpu_seconds = (field(14) + field(15)) / ticks;
    p.virtual_bytes = field(23);
    p.resident_bytes = field(24) * static_cast<double>(sysconf(_SC_PAGESIZE));
    double boot = -1;
    std::ifstream proc_stat("/proc/stat");
    for (std::string line; std::getline(proc_stat, line);) {
      if (line.starts_with("btime ")) boot = std::stod(line.substr(6));
    }
    if (boot >= 0) p.start_time_seconds = boot + field(22) / ticks;
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    p.open_fds = 0;
    while (const dirent* e = readdir(d)) p.open_fds += e->d_name[0] != '.';
    closedir(d);
    --p.open_fds;  // the directory's own descriptor
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) p.max_fds = static_cast<double>(rl.rlim_cur);
  return p;
}

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
  void sample_real(const char* name, const std::string& labels, double value) {
    char text[32];
    snprintf(text, sizeof text, "%.15g", value);
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += text;
    out_ += '\n';
  }

 private:
  std::string& out_;
};

std::string loop_label(size_t i) {
  return "loop=\"" + std::to_string(i) + "\"";
}

// reactord_http_request_duration_seconds: the loops' buckets summed, then made cumulative.
void render_duration_histogram(Writer& w, const HttpStatsRegistry& http) {
  constexpr int kN = HttpStats::kDurationBuckets;
  uint64_t buckets[kN] = {};
  uint64_t count = 0, sum_us = 0;
  http.for_each([&](const HttpStats& s) {
    for (int i = 0; i < kN; ++i) buckets[i] += s.duration_buckets[i].get();
    count += s.duration_count.get();
    sum_us += s.duration_sum_us.get();
  });
  const char* name = "reactord_http_request_duration_seconds";
  w.family(name, "histogram",
           "HTTP requests by time from the head's first byte to the response being queued.");
  uint64_t cumulative = 0;
  for (int i = 0; i < kN; ++i) {
    cumulative += buckets[i];
    char le[40];
    if (i == kN - 1)
      snprintf(le, sizeof le, "le=\"+Inf\"");
    else
      snprintf(le, sizeof le, "le=\"%.9g\"", 16e-6 * static_cast<double>(1ull << (2 * i)));
    w.sample("reactord_http_request_duration_seconds_bucket", le, static_cast<int64_t>(cumulative));
  }
  // Read apart from the buckets, so count may differ from +Inf by requests in flight.
  w.sample_real("reactord_http_request_duration_seconds_sum", "",
                static_cast<double>(sum_us) / 1e6);
  w.sample("reactord_http_request_duration_seconds_count", "", static_cast<int64_t>(count));
}

// The process_* metrics every Prometheus client library exports, from /proc/self.
void render_process_metrics(Writer& w) {
  ProcessFigures p = read_process_figures();
  w.family("process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.");
  w.sample_real("process_cpu_seconds_total", "", p.cpu_seconds);
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  w.sample_real("process_resident_memory_bytes", "", p.resident_bytes);
  w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  w.sample_real("process_virtual_memory_bytes", "", p.virtual_bytes);
  w.family("process_open_fds", "gauge", "Number of open file descriptors.");
  w.sample_real("process_open_fds", "", p.open_fds);
  w.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  w.sample_real("process_max_fds", "", p.max_fds);
  w.family("process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
  w.sample_real("process_start_time_seconds", "", p.start_time_seconds);
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
      {"reactord_received_bytes_total", "counter", "Bytes read from clients.",
       &reactor::LoopStats::bytes_in},
      {"reactord_sent_bytes_total", "counter", "Bytes written to clients.",
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

  render_duration_histogram(w, in.http);

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

  w.family("reactord_build_info", "gauge",
           "Always 1: this reactord's version and the I/O backend in effect.");
  w.sample("reactord_build_info",
           std::string("version=\"") + version() + "\",backend=\"" + g.backend_name() + "\"", 1);
  w.family("reactord_draining", "gauge", "1 while the server drains for shutdown.");
  w.sample("reactord_draining", "", in.draining.load() ? 1 : 0);
  w.family("reactord_open_connections", "gauge",
           "Open connections over all loops (the --max-conns count).");
  w.sample("reactord_open_connections", "", in.open_connections.load());

  render_process_metrics(w);

  // Kernel figures at scrape time: what operators need to see SYN-backlog and TIME_WAIT trouble.
  // They count the whole host (every process, every listener), hence reactord_host_*.
  KernelTcpFigures k = read_kernel_tcp_figures();
  w.family("reactord_host_listen_overflows_total", "counter",
           "Host-wide (all processes) TcpExtListenOverflows: connections dropped because an "
           "accept queue was full.");
  w.sample("reactord_host_listen_overflows_total", "", k.listen_overflows);
  w.family("reactord_host_listen_drops_total", "counter",
           "Host-wide (all processes) TcpExtListenDrops: SYNs/connections dropped at LISTEN "
           "sockets.");
  w.sample("reactord_host_listen_drops_total", "", k.listen_drops);
  w.family("reactord_host_tcp_time_wait_sockets", "gauge",
           "Host-wide (all processes) TCP sockets in TIME_WAIT (/proc/net/sockstat).");
  w.sample("reactord_host_tcp_time_wait_sockets", "", k.time_wait);

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
