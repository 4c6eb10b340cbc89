// Per-loop counters: written only by the owning loop, read from any thread (/metrics, tests).
#pragma once

#include <atomic>
#include <cstdint>

namespace reactor {

// Single-writer counter: the owner does a relaxed load+store (no locked instruction on the
// hot path); readers on other threads see a value that is at worst slightly stale.
class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct LoopStats {
  Counter accepted;  // connections accepted and served
  Counter closed;    // connections closed (any reason)
  Counter active;    // gauge: open connections
  Counter bytes_in;
  Counter bytes_out;
  Counter rejected_max_conns;   // accepted and closed at once: --max-conns reached
  Counter rejected_emfile;      // accept failed for lack of descriptors (EMFILE/ENFILE)
  Counter accept_pauses;        // accepting paused because even the reserve fd was gone
  Counter backpressure_pauses;  // reads paused: write queue crossed the high-water mark
  Counter write_queue_bytes;    // gauge: bytes queued over all connections of the loop
  Counter idle_timeouts;
  Counter resets;          // connections ended by RST/EPIPE/other socket error
  Counter enobufs;         // io_uring: multishot recv ran out of provided buffers
  Counter pool_exhausted;  // reads deferred because the buffer pool hit its cap
  Counter denied;          // refused by --allow/--deny (reset at once)
  Counter reclaimed;       // idle keep-alive connections closed to admit new ones
  Counter reclaimable;     // gauge: connections idle between requests right now
  // Memory budget (--buffer-memory): bytes held by queues, received buffers and protocol
  // state (bodies), and what the loop did about it.
  Counter memory_used;             // gauge: bytes counted against the budget right now
  Counter memory_limit;            // gauge: the budget (bytes)
  Counter memory_pressure_pauses;  // reads paused because the budget was filling up
  Counter memory_closes;           // worst offenders closed past the hard limit
  Counter pool_buffers_in_use;     // gauge: pool buffers held by connections (not the ring's)
  Counter pool_buffers_resident;   // gauge: pool buffers whose pages are resident
  Counter ring_copies;             // io_uring: receive-ring buffers copied out of a queue
};

}  // namespace reactor
