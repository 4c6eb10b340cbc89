// Loop liveness for the systemd watchdog: a no-op task posted to every loop proves, when it
// runs, that the loop still turns (a loop stuck in a handler or a syscall never runs it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "reactor/loop_group.h"

namespace reactord {

// Thread affinity: send() and late() are called by one controlling thread (main); the posted
// tasks run on the loops and only store into answered_.
class LoopHeartbeat {
 public:
  // `group` must be started and outlive this object's pending tasks (the server joins the
  // loops before destroying either).
  explicit LoopHeartbeat(reactor::LoopGroup& group);
  // Posts heartbeat number seq()+1 to every loop.
  void send();
  // Loops that have not yet run the last heartbeat sent (empty: all alive).
  std::vector<int> late() const;
  uint64_t seq() const { return seq_; }

 private:
  reactor::LoopGroup& group_;
  // Shared with the posted tasks so a task that runs late never writes freed memory.
  std::shared_ptr<std::vector<std::atomic<uint64_t>>> answered_;
  uint64_t seq_ = 0;
};

}  // namespace reactord
