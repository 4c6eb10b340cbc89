// A plain descriptor whose readability a loop reports (eventfds, UDP sockets, timerfds).
#pragma once

namespace reactor {

// Thread affinity: on_readable() runs on the thread of the loop it was given to with
// EventLoop::watch(). The watcher must outlive the watch (unwatch before destroying it).
// Readiness is edge-triggered: read until EAGAIN each time.
class FdWatcher {
 public:
  virtual ~FdWatcher() = default;
  virtual void on_readable() = 0;
};

}  // namespace reactor
