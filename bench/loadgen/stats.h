// Everything one run measures: counters, latency histograms, connect outcomes, HTTP statuses.
#pragma once

#include <array>
#include <cstdint>

#include "bench/harness/latency_histogram.h"

namespace reactord::bench {

// One per worker thread, written only by it; merged by the main thread after the workers join.
struct RunStats {
  uint64_t requests = 0;         // replies received and accounted
  uint64_t errors = 0;           // the sum of the three kinds below
  uint64_t errors_reset = 0;     // connection broke (RST/EPIPE) with replies outstanding
  uint64_t errors_closed = 0;    // server closed (FIN) with replies outstanding, unannounced
  uint64_t errors_protocol = 0;  // bad framing, replies nobody asked for
  uint64_t mismatches = 0;       // echo/upper replies whose bytes differ from the expected
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t connects = 0;  // connects that completed
  uint64_t connect_refused = 0;
  uint64_t connect_timeout = 0;
  uint64_t connect_reset = 0;    // ECONNRESET/EPIPE, also a churn connection reset before its reply
  uint64_t connect_other = 0;    // anything else (EADDRNOTAVAIL, ENOENT for unix paths, EMFILE...)
  uint64_t backlog_dropped = 0;  // open loop: requests not queued, the backlog cap was hit
  std::array<uint64_t, 600> status{};  // HTTP status code counts, [100, 599]
  uint64_t status_other = 0;
  LatencyHistogram latency;              // from the intended send time
  LatencyHistogram latency_uncorrected;  // from the actual send time
  // Open loop: actual minus intended send time. The part of the corrected latency that is the
  // load generator's own doing (timer wake-up lag, a connection busy with earlier requests).
  LatencyHistogram send_lag;
  LatencyHistogram connect_latency;
  uint64_t start_ns = 0;  // measurement window on CLOCK_MONOTONIC
  uint64_t end_ns = 0;

  uint64_t connect_failures() const {
    return connect_refused + connect_timeout + connect_reset + connect_other;
  }
  uint64_t status_at_least(int lo) const;
  void count_status(int code) {
    if (code >= 100 && code < 600)
      ++status[static_cast<size_t>(code)];
    else
      ++status_other;
  }
  // Zeroes everything except the window start (warmup end resets the figures).
  void reset();
  void merge(const RunStats& o);
};

}  // namespace reactord::bench
