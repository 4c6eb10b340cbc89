// Sub-millisecond wake-ups for pacing (open-loop requests, --connect-rate) on a worker's loop.
#pragma once

#include <cstdint>

#include "reactor/event_loop.h"
#include "reactor/fd_watcher.h"

namespace reactord::bench {

class Worker;

// The loop's TimerWheel ticks every 10 ms. Pacing only at those ticks would release each
// tick's requests in a burst, and the coordinated-omission-corrected latency (measured from
// the intended send time) would then include up to 10 ms of the load generator's own lag. So
// pacing uses a timerfd on CLOCK_MONOTONIC, watched through the loop's backend: one absolute
// deadline, always the earliest thing due; at each wake-up the worker computes from the
// schedule everything due by then (never one timer per request). The wake-up itself still
// lags by the platform's timer latency (27 us median on the 2-vCPU VM this was written on,
// even with 1 ns timer slack); reactord-bench reports it as "send lag".
class Pacer final : public reactor::FdWatcher {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;

  Pacer(reactor::EventLoop& loop, Worker& worker);
  ~Pacer() override;
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  // Wake at CLOCK_MONOTONIC ns `deadline_ns` (or now, if it has passed); the earliest wins.
  void wake_at(uint64_t deadline_ns);
  void on_readable() override;

 private:
  reactor::EventLoop& loop_;
  Worker& worker_;
  int fd_ = -1;
  uint64_t armed_ns_ = kNever;
};

}  // namespace reactord::bench
