// --max-conns across the loops of a group: a shared count, idle connections each loop can
// give up for a newcomer, and messages between loops by index.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "reactor/task_queue.h"

namespace reactor {

class EventLoop;

// Thread affinity: every method may be called from any thread. Created by whoever owns the
// loops (the server) and handed to each through LoopConfig::admission; it must outlive them.
//
// The count never exceeds the limit, not even for a moment: a newcomer that finds the server
// full is admitted only by taking over the unit of an idle keep-alive connection that is
// closed for it (on its own loop, or on a sibling asked through post()). Until that close
// completes the newcomer waits, accepted but not served, on the loop that accepted it.
class Admission {
 public:
  static constexpr uint32_t kMaxLoops = 256;
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit Admission(std::atomic<int64_t>* open) : open_(open) {}
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // A loop joins (returns its index, or kNone past kMaxLoops) and leaves (before it dies).
  uint32_t attach(EventLoop* loop);
  void detach(uint32_t index);

  // Takes one unit if fewer than `max` are taken (max <= 0: unlimited).
  bool try_take(int64_t max);
  void give_back() { open_->fetch_sub(1, std::memory_order_relaxed); }

  // Idle connections loop `index` could close for a newcomer (its reclaimable list length
  // minus claims already made on it).
  void add_claimable(uint32_t index, int64_t delta);
  // Claims one idle connection on a loop other than `self`; returns that loop or kNone.
  uint32_t claim_peer(uint32_t self);

  // Runs `task` on loop `index`; false if that loop has left.
  bool post(uint32_t index, TaskQueue::Task task);

 private:
  std::atomic<int64_t>* open_;
  std::mutex mu_;  // guards loops_: taken only on the rare paths (full server, start, stop)
  std::vector<EventLoop*> loops_;
  std::array<std::atomic<int64_t>, kMaxLoops> claimable_{};
};

}  // namespace reactor
