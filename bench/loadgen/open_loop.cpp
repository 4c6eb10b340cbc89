// Open loop: requests at a fixed rate from a schedule, whatever the server's speed.
#include "bench/loadgen/client_conn.h"
#include "bench/loadgen/driver.h"
#include "bench/loadgen/worker.h"

namespace reactord::bench {
namespace {

// Request k is intended for t0 + k/rate and goes to connection k mod conns (round robin, so
// the rate is spread evenly). A connection with --pipeline requests already in flight keeps
// the new one queued: its latency, measured from the intended time, then includes the wait,
// which is exactly what coordinated omission would otherwise hide.
class OpenLoopDriver final : public Driver {
 public:
  OpenLoopDriver(double rate, uint64_t phase_ns) : interval_ns_(1e9 / rate), phase_ns_(phase_ns) {}

  void start(Worker& w) override {
    for (int i = 0; i < w.conn_count(); ++i) w.request_connect(w.conns()[i]);
  }
  // The schedule starts once connection setup is over, so it does not count as latency.
  void on_ready(Worker& w) override {
    t0_ = w.now_ns() + phase_ns_;
    started_ = true;
    w.wake_at(t0_);
  }
  void on_open(Worker& w, ClientConn& cc) override { w.flush(cc); }
  bool on_response(Worker&, ClientConn&) override { return true; }
  void on_batch_end(Worker& w, ClientConn& cc) override { w.flush(cc); }
  void on_lost(Worker& w, ClientConn& cc) override { w.request_connect(cc); }

  uint64_t on_wake(Worker& w, uint64_t now_ns) override {
    if (!started_) return kNever;
    const size_t n = static_cast<size_t>(w.conn_count());
    const size_t first = rr_;
    size_t issued = 0;
    uint64_t next = kNever;
    while (true) {
      uint64_t due = t0_ + static_cast<uint64_t>(static_cast<double>(k_) * interval_ns_);
      if (due > now_ns) {
        next = due;
        break;
      }
      if (!w.budget_left()) break;
      ClientConn& cc = w.conns()[rr_];
      rr_ = rr_ + 1 == n ? 0 : rr_ + 1;
      if (w.backlog_full())
        ++w.mutable_stats().backlog_dropped;
      else if (w.enqueue(cc, due))
        ++issued;
      ++k_;
    }
    // Everything due is queued; now one send per connection that got something.
    size_t touched = issued < n ? issued : n;
    for (size_t i = 0, j = first; i < touched; ++i, j = j + 1 == n ? 0 : j + 1)
      w.flush(w.conns()[j]);
    return next;
  }

 private:
  double interval_ns_;
  uint64_t phase_ns_;
  uint64_t t0_ = 0;
  uint64_t k_ = 0;
  size_t rr_ = 0;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<Driver> make_open_loop_driver(double rate, uint64_t phase_ns) {
  return std::make_unique<OpenLoopDriver>(rate, phase_ns);
}

}  // namespace reactord::bench
