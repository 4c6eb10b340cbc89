// Per-loop HTTP counters (requests by status, limit hits), readable from /metrics on any loop.
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "reactor/loop_stats.h"

namespace reactord {

// Written only by the owning loop's HTTP handlers; read by any thread (relaxed atomics).
struct HttpStats {
  static constexpr int kMaxStatus = 600;
  reactor::Counter by_status[kMaxStatus];  // responses sent, by status code
  reactor::Counter header_timeouts;        // 408: head not complete within --header-timeout
  reactor::Counter too_large_heads;        // 431
  reactor::Counter too_large_bodies;       // 413
  reactor::Counter bad_requests;           // 400 (malformed, framing conflicts, missing Host)
  reactor::Counter not_implemented;        // 501 (unknown method, transfer coding not chunked)
  void count(uint16_t status) {
    if (status < kMaxStatus) by_status[status].add();
  }

  // Request durations (head's first byte to response queued): bucket i holds durations up to
  // 16 us * 4^i, the last one the rest. Not cumulative here; /metrics sums the loops and
  // accumulates. Finding the bucket is one bit_width, not a search.
  static constexpr int kDurationBuckets = 11;
  reactor::Counter duration_buckets[kDurationBuckets];
  reactor::Counter duration_count;
  reactor::Counter duration_sum_us;
  static int duration_bucket(uint64_t us) {
    if (us <= 16) return 0;
    int i = (std::bit_width(us - 1) - 3) / 2;
    return i < kDurationBuckets - 1 ? i : kDurationBuckets - 1;
  }
  void observe_duration(uint64_t us) {
    duration_buckets[duration_bucket(us)].add();
    duration_count.add();
    duration_sum_us.add(us);
  }
};

// Where /metrics finds every loop's HttpStats. Registration happens at start-up (loop threads),
// scrapes read under the lock; the HttpStats objects live as long as the server.
class HttpStatsRegistry {
 public:
  HttpStats* add() {
    std::lock_guard<std::mutex> lock(mu_);
    all_.push_back(std::make_unique<HttpStats>());
    return all_.back().get();
  }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : all_) fn(*s);
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<HttpStats>> all_;
};

}  // namespace reactord
