// The one door from a backend into its loop: completions in, and the loop state a backend
// needs (buffers, write queues, listeners, config). Handlers never see it: it is a private
// header, and the EventLoop methods it calls are private.
#pragma once

#include <cstdint>
#include <functional>
#include <new>
#include <type_traits>

#include "reactor/event_loop.h"

namespace reactor {

// Thread affinity: the loop's thread only (as the backend that holds it). A small value type:
// copy it freely; it is valid as long as the loop.
class LoopPort {
 public:
  explicit LoopPort(EventLoop& loop) : loop_(&loop) {}

  // --- completions ---
  // Right after the backend's wait returns, before it dispatches: callbacks then see the
  // time of the wake-up, not the time the loop went to sleep.
  void on_wakeup() { loop_->on_wakeup(); }
  void on_accepted(Listener& l, int fd) { loop_->on_accepted(l, fd); }
  // True when more accepts may succeed right now; false when the queue is empty or accepting
  // was paused (the backend then waits for the listener to become readable again).
  bool on_accept_error(Listener& l, int err) { return loop_->on_accept_error(l, err); }
  void on_connected(Connection& c, int err) { loop_->on_connected(c, err); }
  void on_received(Connection& c, Buffer&& data) { loop_->on_received(c, std::move(data)); }
  void on_peer_eof(Connection& c) { loop_->on_peer_eof(c); }
  void on_io_error(Connection& c, int err) { loop_->on_io_error(c, err); }
  void on_sent(Connection& c, size_t n) { loop_->on_sent(c, n); }
  // Once no operation refers to c any more: the slot may be recycled at the end of the turn.
  void on_closed(Connection& c) { loop_->on_closed(c); }
  // The peer's FIN (RDHUP) arrived while reading was stopped.
  void on_peer_fin_while_paused(Connection& c) { loop_->on_peer_fin_while_paused(c); }
  // The backend no longer reads c's write queue (c is closing): release its buffers now.
  void release_queue(Connection& c) { loop_->release_queue(c); }
  // The pool refused a buffer: the loop closes whoever holds the most (it may be `asker`).
  void on_pool_exhausted(Connection* asker) { loop_->on_pool_exhausted(asker); }

  // --- the backend's own per-connection state ---
  // A small trivially copyable T the backend keeps in each Connection (no side table to look
  // up on the hot path; Connection neither knows nor touches what is in it). Start it with
  // reset_backend_state() when the backend first sees the connection (add_connection).
  template <class T>
  static T& backend_state(Connection& c) {
    check_state_type<T>();
    return *std::launder(reinterpret_cast<T*>(c.backend_state_));
  }
  template <class T>
  static const T& backend_state(const Connection& c) {
    check_state_type<T>();
    return *std::launder(reinterpret_cast<const T*>(c.backend_state_));
  }
  template <class T>
  static T& reset_backend_state(Connection& c) {
    check_state_type<T>();
    return *::new (static_cast<void*>(c.backend_state_)) T{};
  }

  // --- loop state a backend reads or feeds ---
  WriteQueue& queue(Connection& c) { return c.wq_; }
  const WriteQueue& queue(const Connection& c) const { return c.wq_; }
  BufferPool& buffers() { return loop_->pool_; }
  const BufferPool& buffers() const { return loop_->pool_; }
  SliceArena& slices() { return loop_->slices_; }
  const LoopConfig& config() const { return loop_->config_; }
  LoopStats& stats() { return loop_->stats_; }
  uint64_t now_ms() const { return loop_->now_ms_; }
  bool memory_pressure() const { return loop_->pressure_; }
  Connection* find(ConnectionId id) { return loop_->find(id); }
  const std::vector<std::unique_ptr<Listener>>& listeners() const { return loop_->listeners_; }
  void post(TaskQueue::Task task) { loop_->post(std::move(task)); }
  void for_each_connection(const std::function<void(Connection&)>& fn) {
    loop_->for_each_connection(fn);
  }

 private:
  template <class T>
  static constexpr void check_state_type() {
    static_assert(sizeof(T) <= Connection::kBackendStateBytes && alignof(T) <= 8,
                  "backend state must fit Connection::kBackendStateBytes");
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                  "backend state is reset by overwriting, never destroyed");
  }

  EventLoop* loop_;
};

}  // namespace reactor
