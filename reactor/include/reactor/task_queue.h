// Cross-thread work for one loop: a locked vector swapped out by the loop, woken by an eventfd.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "reactor/fd_watcher.h"

namespace reactor {

class EventLoop;

// Thread affinity: post() is callable from any thread; on_readable() runs on the loop thread.
// The lock is held only to push or to swap the vector, never while running a task.
class TaskQueue : public FdWatcher {
 public:
  using Task = std::function<void(EventLoop&)>;
  explicit TaskQueue(EventLoop& loop);
  ~TaskQueue() override;
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  int fd() const { return efd_; }
  void post(Task task);
  void on_readable() override;  // drains the eventfd and runs every queued task

 private:
  EventLoop& loop_;
  int efd_ = -1;
  std::mutex mu_;
  std::vector<Task> pending_;
  std::vector<Task> running_;
};

}  // namespace reactor
