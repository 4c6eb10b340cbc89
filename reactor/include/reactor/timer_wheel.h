// Hashed timing wheel: O(1) add and cancel, expiry by visiting only the slots time passed over.
#pragma once

#include <cstdint>
#include <vector>

#include "reactor/thread_affinity.h"

namespace reactor {

class TimerWheel;

// Intrusive timer: embed (or inherit) it; the wheel never allocates. A node is armed while
// linked. Destroying an armed node unlinks it.
class TimerNode {
 public:
  using Callback = void (*)(TimerNode*);
  explicit TimerNode(Callback cb = nullptr) : cb_(cb) {}
  ~TimerNode() { cancel(); }
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;

  bool armed() const { return prev_ != nullptr; }
  void set_callback(Callback cb) { cb_ = cb; }
  void cancel();  // no-op when not armed
  uint64_t deadline_tick() const { return deadline_; }

 private:
  friend class TimerWheel;
  TimerNode* prev_ = nullptr;  // slot head sentinel or previous node; nullptr = not armed
  TimerNode* next_ = nullptr;
  uint64_t deadline_ = 0;
  Callback cb_;
  TimerWheel* wheel_ = nullptr;
};

// Thread affinity: owned by one EventLoop thread.
//
// Time is in ticks of tick_ms. A node lands in slot (deadline % slots); a slot can mix
// nodes of several revolutions, so expiry fires only nodes whose deadline has passed and
// leaves the rest. A bitmap of non-empty slots answers "when is the next slot worth visiting"
// so an idle loop sleeps instead of waking every tick.
class TimerWheel {
 public:
  static constexpr uint32_t kSlots = 1024;  // power of two

  explicit TimerWheel(uint64_t now_ms, uint32_t tick_ms = 10);
  ~TimerWheel();

  // Tells the wheel the current time without firing anything, so timers scheduled before the
  // next advance() count from now and not from the last advance (the loop may have slept).
  void set_now(uint64_t now_ms) {
    uint64_t t = now_ms < origin_ms_ ? 0 : (now_ms - origin_ms_) / tick_ms_;
    if (t > now_tick_) now_tick_ = t;
  }
  // Arms (or re-arms) `node` to fire `delay_ms` from now (rounded up to the next tick).
  void schedule(TimerNode* node, uint64_t delay_ms);
  // Runs every callback whose deadline is <= now_ms. Callbacks may schedule and cancel freely.
  // Returns the number fired.
  size_t advance(uint64_t now_ms);
  // Milliseconds until the next non-empty slot's tick, or -1 when no timer is armed.
  int next_timeout_ms(uint64_t now_ms) const;

  size_t size() const { return count_; }
  uint32_t tick_ms() const { return tick_ms_; }

 private:
  friend class TimerNode;
  void unlink(TimerNode* node);
  void set_bit(uint32_t slot) { bits_[slot >> 6] |= 1ull << (slot & 63); }
  void clear_bit(uint32_t slot) { bits_[slot >> 6] &= ~(1ull << (slot & 63)); }
  int64_t next_nonempty_distance() const;  // slots from current_ to the next non-empty slot

  uint32_t tick_ms_;
  uint64_t origin_ms_;
  uint64_t current_ = 0;   // the tick whose slot was last processed
  uint64_t now_tick_ = 0;  // latest time seen (set_now/advance); >= current_
  size_t count_ = 0;
  std::vector<TimerNode> heads_;  // sentinels: heads_[s].next_ is the first node of slot s
  uint64_t bits_[kSlots / 64] = {};
  ThreadAffinity affinity_;
};

}  // namespace reactor
