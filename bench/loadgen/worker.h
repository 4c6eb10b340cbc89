// One load-generating thread: its EventLoop, connection slots, accounting, and the reactor glue.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/loadgen/client_conn.h"
#include "bench/loadgen/driver.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/protocol.h"
#include "bench/loadgen/stats.h"
#include "reactor/event_loop.h"
#include "reactor/handler.h"
#include "reactor/loop_stats.h"

namespace reactord::bench {

class Pacer;

// What all workers of a run share; atomics only, touched off the hot path.
struct SharedState {
  std::atomic<uint64_t> connects_ok{0};
  std::atomic<bool> unreachable{false};
  std::atomic<int> first_connect_errno{0};
};

struct WorkerConfig {
  const Options* options = nullptr;
  int index = 0;
  int conns = 0;
  double rate = 0;          // this worker's share of --rate
  double connect_rate = 0;  // this worker's share of --connect-rate
  uint64_t budget = 0;      // this worker's share of --requests; 0 = unlimited
  uint64_t warmup_end_ns = 0;
  uint64_t end_ns = 0;  // 0 = no duration limit
  uint64_t phase_ns = 0;
};

// Thread affinity: constructed on the main thread; run() is the worker thread's body and
// everything else except request_stop() and the live_* readers runs on that thread.
class Worker final : public reactor::ConnectionHandler {
 public:
  Worker(const WorkerConfig& cfg, const Protocol& proto, SharedState& shared);
  ~Worker() override;

  void run();
  // Any thread: finish early (SIGINT, target unreachable).
  void request_stop();
  bool done() const { return done_.load(std::memory_order_acquire); }
  const RunStats& stats() const { return stats_; }
  // Progress figures for the main thread's live line (single-writer counters).
  uint64_t live_requests() const { return live_requests_.get(); }
  uint64_t live_errors() const { return live_errors_.get(); }
  // Why the worker could not run at all (empty when it ran).
  const std::string& failure() const { return failure_; }
  // The first protocol error seen, for the report (nullptr when none).
  const char* error_sample() const { return error_sample_; }

  // --- reactor::ConnectionHandler ---
  void on_open(reactor::Connection& c) override;
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override;
  void on_peer_closed(reactor::Connection& c) override;
  void on_close(reactor::Connection& c) override;
  void on_connect_failed(reactor::Connection& c, int err) override;

  // --- for drivers and protocols (loop thread) ---
  reactor::EventLoop& loop() { return *loop_; }
  ClientConn* conns() { return conns_.get(); }
  int conn_count() const { return cfg_.conns; }
  int pipeline() const { return cfg_.options->pipeline; }
  bool stopping() const { return stopping_; }
  uint64_t now_ns() const { return now_ns_; }
  RunStats& mutable_stats() { return stats_; }
  // Adds a new request to cc's queue, intended for `intended_ns`. False when the --requests
  // budget is spent.
  bool enqueue(ClientConn& cc, uint64_t intended_ns);
  uint64_t budget() const { return cfg_.budget; }  // 0 = unlimited
  bool budget_left() const { return cfg_.budget == 0 || issued_ < cfg_.budget; }
  // Open loop: so many requests are queued that the server is hopelessly behind.
  bool backlog_full() const;
  // Writes cc's queued requests, up to the pipeline depth in flight, in one send.
  void flush(ClientConn& cc);
  // Client-initiated graceful close (FIN first, so TIME_WAIT stays on this side).
  void close(ClientConn& cc);
  // (Re)connects cc: at once, paced by --connect-rate, or after a delay if the last failed.
  void request_connect(ClientConn& cc);
  void wake_at(uint64_t ns);
  // A complete reply at the front of cc's ring. ok=false: payload mismatch. keep_alive=false:
  // the server closes after it. Returns false when cc takes no more replies.
  bool on_response(ClientConn& cc, bool ok, int status, bool keep_alive);
  // Bad framing or unsolicited bytes: counted, the connection is dropped and replaced.
  void on_protocol_error(ClientConn& cc, const char* why);
  // Pacer wake-up; returns the next deadline.
  uint64_t on_pacer(uint64_t now_ns);

 private:
  struct PhaseTimer : reactor::TimerNode {
    Worker* worker = nullptr;
  };
  static constexpr uint64_t kRetryDelayMs = 20;    // after a failed connect
  static constexpr size_t kBacklogCap = 1u << 20;  // open loop: queued requests per worker

  static void on_slot_timer(reactor::TimerNode* node);
  static void on_end_timer(reactor::TimerNode* node);
  static void on_warmup_timer(reactor::TimerNode* node);
  ClientConn* slot_of(reactor::Connection& c);
  void do_connect(ClientConn& cc);
  void connect_failed(ClientConn& cc, int err, bool timed_out);
  void lost(ClientConn& cc);
  void resolved(ClientConn& cc);
  void maybe_finish();
  void finish();
  uint64_t run_connect_queue(uint64_t now_ns);
  void count_error(uint64_t RunStats::*kind) {
    ++(stats_.*kind);
    ++stats_.errors;
    live_errors_.add();
  }

  WorkerConfig cfg_;
  const Protocol& proto_;
  SharedState& shared_;
  std::unique_ptr<Driver> driver_;
  std::unique_ptr<ClientConn[]> conns_;
  reactor::EventLoop* loop_ = nullptr;
  std::mutex loop_mu_;  // guards loop_ against request_stop() from other threads
  Pacer* pacer_ = nullptr;
  PhaseTimer end_timer_;
  PhaseTimer warmup_timer_;
  std::vector<char> scratch_;  // one batch of requests, written with a single send
  std::vector<uint32_t> connect_queue_;
  size_t connect_head_ = 0;
  size_t connect_count_ = 0;
  uint64_t connect_interval_ns_ = 0;
  uint64_t next_connect_ns_ = 0;
  ClientConn* connecting_ = nullptr;  // the slot inside EventLoop::connect (see do_connect)
  uint64_t now_ns_ = 0;
  uint64_t issued_ = 0;         // requests created (against the budget)
  uint64_t outstanding_ = 0;    // requests queued or in flight over all slots
  int unresolved_ = 0;          // slots whose first connect has not finished
  int failed_unconnected_ = 0;  // failed connects while nothing ever connected
  bool measuring_ = false;
  bool stopping_ = false;
  bool open_loop_ = false;
  std::string failure_;
  const char* error_sample_ = nullptr;
  RunStats stats_;
  reactor::Counter live_requests_;
  reactor::Counter live_errors_;
  std::atomic<bool> done_{false};
  std::atomic<bool> stop_requested_{false};
};

}  // namespace reactord::bench
