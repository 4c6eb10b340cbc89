// One single-threaded event loop: owns its backend, buffers, timers, listeners and connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "reactor/access_list.h"
#include "reactor/backend_kind.h"
#include "reactor/buffer_pool.h"
#include "reactor/clock.h"
#include "reactor/connection.h"
#include "reactor/fd_watcher.h"
#include "reactor/listener.h"
#include "reactor/loop_stats.h"
#include "reactor/task_queue.h"
#include "reactor/thread_affinity.h"
#include "reactor/timer_wheel.h"
#include "reactor/write_queue.h"

namespace reactor {

class Admission;
class ConnectionHandler;
class IoBackend;
class LoopPort;

// For the library's own tests, which drive a loop over an in-memory backend (IoBackend is a
// private header) on a clock they move by hand. Everyone else picks LoopConfig::backend.
struct LoopHooks {
  std::unique_ptr<IoBackend> (*make_backend)(LoopPort port, void* context) = nullptr;
  uint64_t (*clock_ms)(void* context) = nullptr;  // nullptr = the monotonic clock
  void* context = nullptr;
};

struct LoopConfig {
  BackendKind backend = BackendKind::kAuto;
  uint32_t buffer_size = 16 * 1024;
  uint32_t max_buffers = 16384;  // cap per loop (256 MiB of 16 KiB buffers), lazily mapped
  // Per-loop budget for held bytes: write queues, received buffers a protocol keeps, and
  // protocol state reported through Connection::add_held_bytes (collected bodies). As it fills
  // the connections holding the most stop being read; past it the worst offender is closed.
  uint64_t buffer_memory = 64ull << 20;
  uint64_t high_water = 1 << 20;       // queued bytes above which reading pauses
  uint64_t low_water = 256 << 10;      // ... and below which it resumes
  uint64_t idle_timeout_ms = 60000;    // 0 = off
  uint64_t drain_quiet_ms = 1000;      // drain: a connection quiet this long is closed
  uint64_t linger_ms = 2000;           // after our FIN, wait this long for the peer's
  uint32_t accept_batch = 64;          // accepts per listener per wake-up
  uint32_t read_batch = 16;            // reads per connection per wake-up (fairness)
  bool reset_on_idle_timeout = false;  // idle closes send RST: no TIME_WAIT on the server
  // Shared across loops for --max-conns (0 = unlimited); nullptr = no global limit. With
  // `admission` set, the count and the cross-loop reclaim go through it (open_connections is
  // then its counter); without, open_connections is only counted.
  std::atomic<int64_t>* open_connections = nullptr;
  Admission* admission = nullptr;
  int64_t max_conns = 0;
  // --allow/--deny rules checked at accept (nullptr or empty = everyone); shared, immutable.
  const AccessList* access = nullptr;
  // Peers that speak through a PROXY header (--proxy-from; its allow rules, nullptr = none):
  // the accept-time check above is skipped for them, since the client they carry is known
  // only once the header is read (the server's PROXY gate checks `access` then).
  const AccessList* proxy_sources = nullptr;
  // io_uring: provided-buffer ring entries per loop (power of two).
  uint32_t uring_ring_buffers = 1024;
  uint32_t uring_entries = 4096;
  // Tests only: the generation new connection slots start at, to cross the wrap point of the
  // completion tag's generation field without creating 2^24 connections.
  uint32_t initial_generation = 0;
};

// Thread affinity: an EventLoop belongs to the thread that constructed it. Everything but
// post(), request_stop() and stats() must be called on that thread (asserted in debug builds).
// Other threads talk to it only through post().
//
// Phases of one turn (run()):
//   1. timeout = time to the next timer slot (0 if the backend has deferred work)
//   2. backend poll: wait, then dispatch I/O completions -> handler callbacks; the task
//      queue's eventfd is one of the watched fds, so cross-thread tasks run here too
//   3. timers: idle timeouts, lingering closes, accept resumption, drain deadline
//   4. deferred frees: slots of connections closed this turn are recycled
class EventLoop {
 public:
  // Throws std::runtime_error when the requested backend cannot be created.
  explicit EventLoop(const LoopConfig& config);
  EventLoop(const LoopConfig& config, const LoopHooks& hooks);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void run();                       // until stopped or a drain completes
  void post(TaskQueue::Task task);  // any thread
  void request_stop();              // any thread: stop after this turn, connections aborted
  void begin_drain(uint64_t drain_timeout_ms);  // loop thread (post() it from elsewhere)

  // Takes ownership of a listening fd. On the loop thread.
  Listener& add_listener(int fd, ConnectionHandler* handler, std::string protocol);
  // Client side: a connection to `addr` served by `handler`. nullptr (errno set) if no socket.
  Connection* connect(const SocketAddress& addr, ConnectionHandler* handler);
  Connection* find(ConnectionId id);

  const LoopConfig& config() const { return config_; }
  LoopConfig& mutable_config() { return config_; }  // loop thread: live-tunable fields
  BufferPool& buffers() { return pool_; }
  BackendKind backend_kind() const;
  const char* backend_name() const { return backend_kind_name(backend_kind()); }
  // Reports readability of a descriptor the caller owns (eventfd, UDP socket) on this loop's
  // thread. On the loop thread; unwatch before closing the fd or destroying the watcher.
  void watch(int fd, FdWatcher* watcher);
  void unwatch(int fd, FdWatcher* watcher);
  TimerWheel& timers() { return timers_; }
  LoopStats& stats() { return stats_; }
  const LoopStats& stats() const { return stats_; }
  uint64_t now_ms() const { return now_ms_; }
  bool draining() const { return draining_; }
  size_t connection_count() const { return live_; }
  const std::vector<std::unique_ptr<Listener>>& listeners() const { return listeners_; }
  std::string fallback_note() const { return backend_note_; }
  void assert_in_loop_thread() const { affinity_.assert_owner(); }
  // Calls fn for every open connection (diagnostics, drain).
  void for_each_connection(const std::function<void(Connection&)>& fn);

  // --- memory budget (event_loop_memory.cpp) ---
  // Bytes counted against LoopConfig::buffer_memory: pool buffers held outside the pool
  // (write queues, buffers a protocol keeps, io_uring ring buffers delivered and not yet
  // returned) plus what protocols report through Connection::add_held_bytes.
  uint64_t memory_used() const {
    return static_cast<uint64_t>(pool_.held()) * pool_.buffer_size() + external_held_;
  }
  bool memory_pressure() const { return pressure_; }

 private:
  friend class Connection;
  friend class LoopPort;  // the backends' door: completions below, loop state they need

  // --- completions, called by the backend through LoopPort (loop_port.h) ---
  uint64_t read_clock() const {
    return hooks_.clock_ms == nullptr ? monotonic_ms() : hooks_.clock_ms(hooks_.context);
  }
  void on_wakeup() {
    now_ms_ = read_clock();
    timers_.set_now(now_ms_);
    woke_ = true;
  }
  void on_accepted(Listener& l, int fd);
  bool on_accept_error(Listener& l, int err);
  void on_connected(Connection& c, int err);
  void on_received(Connection& c, Buffer&& data);
  void on_peer_eof(Connection& c);
  void on_io_error(Connection& c, int err);
  void on_sent(Connection& c, size_t n);
  void on_closed(Connection& c);
  void on_peer_fin_while_paused(Connection& c);
  void release_queue(Connection& c);
  void on_pool_exhausted(Connection* asker);
  // Connection::add_held_bytes: counts the bytes against the budget.
  void on_held_bytes(Connection& c, int64_t delta);
  struct AcceptResumeTimer : TimerNode {
    EventLoop* loop = nullptr;
  };
  struct DrainDeadline : TimerNode {
    EventLoop* loop = nullptr;
  };
  struct TrimTimer : TimerNode {
    EventLoop* loop = nullptr;
  };

  Connection& alloc_connection(int fd, ConnectionHandler* handler);
  void open_connection(Connection& c);
  // on_data, then the memory check and the coalesced flush.
  void dispatch_data(Connection& c, Buffer&& data);
  void flush_after_callback(Connection& c);
  // Held input (event_loop_input.cpp): what arrives while the protocol paused reading.
  struct HeldInput {
    std::deque<Buffer> buffers;
    bool eof = false;
    int error = 0;
  };
  void hold_input(Connection& c, Buffer&& data);
  bool hold_end(Connection& c, int err);  // EOF (err 0) or error behind held bytes
  uint64_t held_input_bytes(const Connection& c) const;
  void drop_held_input(Connection& c, bool keep_eof);
  void restart_input(Connection& c);
  void deliver_ready_input();
  void deliver_held(Connection& c);
  void maybe_pause(Connection& c);
  bool pausable(const Connection& c) const;
  void pause_reading(Connection& c, bool for_memory);
  void resume_reading(Connection& c);
  uint64_t resume_mark(const Connection& c) const;
  // Memory budget policy (event_loop_memory.cpp).
  // Checked where memory grows (a send queued, a buffer kept, held bytes added), so it is one
  // compare: pool buffers held against 3/4 of the budget less the protocols' held bytes, in
  // buffers (recomputed when either changes; SIZE_MAX when the budget is off).
  bool over_pressure_mark() const { return pool_.held() >= pressure_buffers_; }
  void update_pressure_mark();
  uint64_t heavy_mark() const;
  // What a connection holds: its write queue, declared bytes and held input.
  uint64_t weight(const Connection& c) const;
  void check_memory(Connection* grower);
  uint64_t shed_worst(const char* why, const Connection* asker);
  void shed(Connection& c, const char* why, const Connection* asker);
  void run_abort_queue();
  // A connection paused for memory that shows no progress this long while memory stays short
  // is closed like a worst offender (its peer is gone or will not read).
  static constexpr uint32_t kMemoryPauseLimitMs = 5000;
  void after_turn_memory();
  void leave_pressure();
  static void on_trim_timer(TimerNode* node);
  void lru_push(Connection& c);
  void lru_unlink(Connection& c, bool claimed = false);
  // --max-conns (a newcomer found the server full): see Admission.
  void admit_when_full(Listener& l, int fd);
  void serve_accepted(Listener& l, int fd);
  // Closes the longest-idle reclaimable connection and hands its unit to loop `requester`'s
  // oldest waiting newcomer once the close completes; false when there is none.
  bool reclaim_for(uint32_t requester, bool claimed);
  void hand_over_unit(uint32_t requester);
  void admit_parked();
  void reject_parked();
  void close_parked();
  void hold_accepts();
  void release_accepts();

  Connection& slot(uint32_t s) { return chunks_[s / kChunk][s % kChunk]; }
  void finish_close_if_ready(Connection& c);
  void close_now(Connection& c, bool reset);
  void arm_idle_timer(Connection& c);
  static void on_conn_timer(TimerNode* node);
  static void on_accept_resume(TimerNode* node);
  static void on_drain_deadline(TimerNode* node);
  void pause_accept(Listener& l);
  void close_listeners();
  void free_closed();
  uint32_t rel_now() const { return static_cast<uint32_t>(now_ms_ - start_ms_); }

  LoopConfig config_;
  LoopHooks hooks_;
  ThreadAffinity affinity_;
  uint64_t start_ms_;
  uint64_t now_ms_;
  BufferPool pool_;
  SliceArena slices_;
  TimerWheel timers_;
  LoopStats stats_;
  std::unique_ptr<IoBackend> backend_;
  std::string backend_note_;
  std::unique_ptr<TaskQueue> tasks_;

  // Connection slots: chunks never move, so Connection& stays valid; freed slots are reused
  // with a bumped generation.
  static constexpr uint32_t kChunk = 1024;
  std::vector<std::unique_ptr<Connection[]>> chunks_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> closed_this_turn_;
  uint32_t slots_used_ = 0;
  uint32_t lru_head_ = UINT32_MAX;  // longest-idle reclaimable connection
  uint32_t lru_tail_ = UINT32_MAX;
  size_t live_ = 0;

  std::vector<std::unique_ptr<Listener>> listeners_;
  AcceptResumeTimer accept_resume_;
  DrainDeadline drain_deadline_;
  TrimTimer trim_timer_;
  uint64_t external_held_ = 0;  // Connection::add_held_bytes total
  // Input held for paused connections, by slot (only those with Connection::kInputHeld), and
  // the connections whose held input may be delivered at the end of this turn.
  std::unordered_map<uint32_t, HeldInput> held_input_;
  std::vector<ConnectionId> input_ready_;
  std::vector<ConnectionId> ready_running_;
  uint64_t external_peak_ = 0;  // highest external_held_ since the last trim
  bool pressure_ = false;       // memory above 3/4 of the budget (until below 1/2)
  size_t pressure_buffers_ = SIZE_MAX;
  uint32_t turns_ = 0;                     // memory bookkeeping runs every 16th turn
  size_t trimmed_free_ = 0;                // pool free count right after the last trim
  std::vector<ConnectionId> abort_queue_;  // shed while their handler may be on the stack
  uint64_t shed_log_ms_ = 0;               // last "memory budget exceeded" log line
  uint64_t shed_unlogged_ = 0;             // connections shed since
  uint64_t shed_largest_ = 0;
  struct Parked {
    int fd;
    uint16_t listener;
  };
  std::vector<Parked> parked_;  // newcomers waiting for a reclaimed connection's unit (FIFO)
  size_t parked_head_ = 0;
  uint32_t admission_index_ = UINT32_MAX;  // Admission::kNone
  bool destroying_ = false;
  bool accepts_held_ = false;  // listeners stopped while a newcomer waits for a unit
  bool running_ = false;
  bool draining_ = false;
  bool woke_ = false;  // on_wakeup() ran during this turn's poll
  std::atomic<bool> stop_requested_{false};
};

}  // namespace reactor
