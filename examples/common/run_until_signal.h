// Example helper: the embedder's main loop. Blocks SIGINT/SIGTERM in every thread (call it
// before LoopGroup::start, so the loop threads inherit the mask), waits for one, then drains.
#pragma once

#include <signal.h>

#include <cstdint>

#include "reactor/loop_group.h"

namespace examples {

// Call first in main, while the process is still single-threaded.
inline void block_stop_signals() {
  signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write must not kill the process
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Waits for SIGINT or SIGTERM, then lets every loop drain: listeners close, connections get
// on_drain and `drain_ms` to finish, the rest are aborted. Returns once every loop has ended.
inline void run_until_signal(reactor::LoopGroup& group, uint64_t drain_ms) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  group.drain(drain_ms);
  group.join();
}

}  // namespace examples
