// EventLoop's memory budget: pressure pauses, shedding the connection that holds the most, and
// giving idle pool pages back to the kernel.
#include <malloc.h>

#include <algorithm>

#include "reactor/event_loop.h"
#include "reactor/handler.h"
#include "reactor/log.h"
#include "reactor/src/io_backend.h"

namespace reactor {

namespace {
constexpr uint64_t kMinHeavyMark = 16 << 10;
constexpr size_t kWarmBuffers = 64;  // free pool buffers kept resident after a trim
constexpr uint64_t kTrimDelayMs = 1000;
constexpr uint64_t kShedLogIntervalMs = 10000;
constexpr uint64_t kMallocTrimBytes = 4 << 20;  // protocol memory released since the last trim
}  // namespace

uint64_t EventLoop::weight(const Connection& c) const {
  return c.queued_bytes() + c.held_bytes() + held_input_bytes(c);
}

// Under pressure a connection holding more than this is taken to have a peer that does not
// keep up (its replies pile up, or it is sending a body faster than it can be used): its
// reads pause. An equal share of half the budget, capped at 1/1024 of it (64 KiB of the
// 64 MiB default) and floored at one buffer: ordinary request/response traffic, which holds a
// buffer or two at a time, is untouched, and a crowd of N non-readers settles at about half
// the budget instead of being closed.
uint64_t EventLoop::heavy_mark() const {
  uint64_t share = config_.buffer_memory / 2 / std::max<uint64_t>(live_, 1);
  return std::clamp(share, kMinHeavyMark, std::max(kMinHeavyMark, config_.buffer_memory / 1024));
}

// Called when memory is above 3/4 of the budget and `grower` (if any) just took more.
//
// Two steps, as nginx and HAProxy cap buffers globally: first stop reading from whoever holds
// the most (their peers are not reading, so reading more only grows the pile; everybody
// else keeps being served), and past the budget itself close the connection that holds the
// most. The connection that merely asked for memory is never the one punished for asking.
void EventLoop::check_memory(Connection* grower) {
  const uint64_t limit = config_.buffer_memory;
  if (limit == 0) return;
  const uint64_t heavy = heavy_mark();
  if (!pressure_) {
    pressure_ = true;
    REACTOR_LOG_INFO(
        "memory budget: %llu of %llu bytes held; pausing reads of connections holding "
        "more than %llu",
        static_cast<unsigned long long>(memory_used()), static_cast<unsigned long long>(limit),
        static_cast<unsigned long long>(heavy));
    for (uint32_t s = 0; s < slots_used_; ++s) {
      Connection& c = slot(s);
      if (c.fd_ >= 0 && !c.closed() && weight(c) > heavy && pausable(c)) pause_reading(c, true);
    }
    backend_->memory_pressure(true);
  } else if (grower && !grower->closed() && weight(*grower) > heavy && pausable(*grower)) {
    pause_reading(*grower, true);
  }
  // Past the budget: shed until what is left (not counting connections already shed, whose
  // memory goes when their close completes - later with io_uring, or after their callback)
  // fits. Shed connections are found by a scan rather than tracked by a running sum that a
  // protocol's own releases could leave behind.
  uint64_t used = memory_used();
  if (used <= limit) return;
  uint64_t pending = 0;
  for (uint32_t s = 0; s < slots_used_; ++s) {
    Connection& c = slot(s);
    if (c.fd_ >= 0 && c.has(Connection::kShed)) pending += weight(c);
  }
  for (int guard = 0; guard < 64 && used - std::min(used, pending) > limit; ++guard) {
    uint64_t freed = shed_worst("memory budget exceeded", grower);
    if (freed == 0) break;
    pending += freed;
    used = memory_used();  // a synchronous close (epoll) has released it already
  }
}

void EventLoop::on_pool_exhausted(Connection* asker) {
  // `asker` is shed only if it holds the most, like anyone else (then after its call returns).
  stats_.pool_exhausted.add();
  shed_worst("buffer pool exhausted", asker);
}

// Returns the bytes the shed connection held (0: nobody to shed).
uint64_t EventLoop::shed_worst(const char* why, const Connection* asker) {
  Connection* worst = nullptr;
  uint64_t most = 0;
  for (uint32_t s = 0; s < slots_used_; ++s) {
    Connection& c = slot(s);
    if (c.fd_ < 0 || c.closed() || c.has(Connection::kAbortPending)) continue;
    uint64_t w = weight(c);
    if (w > most) {
      most = w;
      worst = &c;
    }
  }
  if (!worst) return 0;
  shed(*worst, why, asker);
  return most;
}

void EventLoop::shed(Connection& c, const char* why, const Connection* asker) {
  uint64_t most = weight(c);
  stats_.memory_closes.add();
  ++shed_unlogged_;
  shed_largest_ = std::max(shed_largest_, most);
  if (shed_log_ms_ == 0 || now_ms_ - shed_log_ms_ >= kShedLogIntervalMs) {
    REACTOR_LOG_WARN(
        "%s (%llu of %llu bytes held): closed %llu connection(s) holding the most (largest "
        "%llu bytes) since the last report",
        why, static_cast<unsigned long long>(memory_used()),
        static_cast<unsigned long long>(config_.buffer_memory),
        static_cast<unsigned long long>(shed_unlogged_),
        static_cast<unsigned long long>(shed_largest_));
    shed_log_ms_ = now_ms_ == 0 ? 1 : now_ms_;
    shed_unlogged_ = 0;
    shed_largest_ = 0;
  }
  c.set(Connection::kShed);
  if (c.has(Connection::kInCallback) || &c == asker) {
    // Its handler may be running further up this stack (a callback, or a send from the
    // protocol's own timer) and still use its state: abort once that returns - after the
    // callback (flush_after_callback) or at the end of this turn - and take no more bytes.
    c.set(Connection::kAbortPending);
    c.set(Connection::kClosing);
    abort_queue_.push_back(c.id());
    return;
  }
  close_now(c, true);  // its peer is not reading: no point in a graceful FIN
}

void EventLoop::run_abort_queue() {
  for (size_t i = 0; i < abort_queue_.size(); ++i) {  // closes may queue no more, but be safe
    Connection* c = find(abort_queue_[i]);
    if (c && !c->closed() && c->has(Connection::kAbortPending)) close_now(*c, true);
  }
  abort_queue_.clear();
}

void EventLoop::update_pressure_mark() {
  const uint64_t limit = config_.buffer_memory;
  const uint64_t mark = limit / 4 * 3;
  if (limit == 0)
    pressure_buffers_ = SIZE_MAX;
  else
    // The first count of held buffers that is over; 0 once declared bytes alone are over, so
    // that adding them starts the pressure even while no buffer is out of the pool.
    pressure_buffers_ =
        mark > external_held_ ? (mark - external_held_) / pool_.buffer_size() + 1 : 0;
}

// Every 16th loop turn (each turn under pressure): publish the gauges, leave the pressure
// state when memory fell back to half the budget, and schedule giving idle pool pages back.
void EventLoop::after_turn_memory() {
  const uint64_t limit = config_.buffer_memory;  // a reload may have changed it
  update_pressure_mark();
  stats_.memory_limit.set(limit);
  stats_.memory_used.set(memory_used());
  stats_.pool_buffers_in_use.set(pool_.held());
  if (pressure_ && memory_used() <= limit / 2) leave_pressure();
  // A trim is due when free buffers beyond the warm set came back since the last one.
  if (!trim_timer_.armed() &&
      ((pool_.free_count() > kWarmBuffers && pool_.free_count() != trimmed_free_) ||
       backend_->idle_resident_buffers() > kWarmBuffers ||
       external_peak_ > external_held_ + kMallocTrimBytes))
    timers_.schedule(&trim_timer_, kTrimDelayMs);
}

void EventLoop::leave_pressure() {
  pressure_ = false;
  backend_->memory_pressure(false);
  for (uint32_t s = 0; s < slots_used_; ++s) {
    Connection& c = slot(s);
    if (c.fd_ < 0 || c.closed() || !c.has(Connection::kMemoryPaused)) continue;
    if (c.wq_.bytes() <= config_.low_water) resume_reading(c);
  }
}

void EventLoop::on_trim_timer(TimerNode* node) {
  EventLoop* self = static_cast<TrimTimer*>(node)->loop;
  self->pool_.trim(kWarmBuffers);
  self->trimmed_free_ = self->pool_.free_count();
  self->backend_->trim_idle();
  // The backend keeps its pages while receives are busy; check again later rather than wait
  // for a turn that an idle loop may never take.
  if (self->backend_->idle_resident_buffers() > kWarmBuffers)
    self->timers_.schedule(&self->trim_timer_, kTrimDelayMs);
  // Resident now: what is held, the warm free buffers and what the backend keeps.
  self->stats_.pool_buffers_resident.set(self->pool_.held() +
                                         std::min(self->pool_.free_count(), kWarmBuffers) +
                                         self->backend_->idle_resident_buffers());
  // Protocol state (collected bodies) lives in malloc'd memory; glibc keeps freed heap for
  // reuse unless asked. Ask only after a large release, so the cost stays rare.
  if (self->external_peak_ > self->external_held_ + kMallocTrimBytes) malloc_trim(0);
  self->external_peak_ = self->external_held_;
}

}  // namespace reactor
