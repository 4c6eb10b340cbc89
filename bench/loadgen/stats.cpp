// RunStats: reset at warmup end and merge across worker threads.
#include "bench/loadgen/stats.h"

#include <algorithm>

namespace reactord::bench {

uint64_t RunStats::status_at_least(int lo) const {
  uint64_t n = 0;
  for (size_t c = static_cast<size_t>(lo); c < status.size(); ++c) n += status[c];
  return n;
}

void RunStats::reset() {
  requests = errors = mismatches = bytes_sent = bytes_received = 0;
  errors_reset = errors_closed = errors_protocol = 0;
  connects = connect_refused = connect_timeout = connect_reset = connect_other = 0;
  backlog_dropped = status_other = 0;
  status.fill(0);
  latency.reset();
  latency_uncorrected.reset();
  send_lag.reset();
  connect_latency.reset();
}

void RunStats::merge(const RunStats& o) {
  requests += o.requests;
  errors += o.errors;
  errors_reset += o.errors_reset;
  errors_closed += o.errors_closed;
  errors_protocol += o.errors_protocol;
  mismatches += o.mismatches;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  connects += o.connects;
  connect_refused += o.connect_refused;
  connect_timeout += o.connect_timeout;
  connect_reset += o.connect_reset;
  connect_other += o.connect_other;
  backlog_dropped += o.backlog_dropped;
  for (size_t i = 0; i < status.size(); ++i) status[i] += o.status[i];
  status_other += o.status_other;
  latency.merge(o.latency);
  latency_uncorrected.merge(o.latency_uncorrected);
  send_lag.merge(o.send_lag);
  connect_latency.merge(o.connect_latency);
  if (o.start_ns != 0) start_ns = start_ns == 0 ? o.start_ns : std::min(start_ns, o.start_ns);
  end_ns = std::max(end_ns, o.end_ns);
}

}  // namespace reactord::bench
