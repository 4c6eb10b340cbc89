// PROXY header counters for /metrics: written by every loop (rarely: once per connection from a
// balancer), read by scrapes; relaxed atomics suffice.
#pragma once

#include <atomic>
#include <cstdint>

namespace reactord {

struct ProxyStats {
  std::atomic<uint64_t> accepted{0};  // PROXY command: the header's source is the client
  std::atomic<uint64_t> local{0};     // LOCAL (the balancer's own check): the peer is the client
  std::atomic<uint64_t> rejected{0};  // malformed, cut short, or not complete in time

  static void add(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace reactord
