// TaskQueue: eventfd wake-up plus swap-under-lock, so the loop never runs a task holding it.
#include "reactor/task_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace reactor {

TaskQueue::TaskQueue(EventLoop& loop) : loop_(loop) {
  efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd_ < 0) throw std::runtime_error(std::string("eventfd: ") + strerror(errno));
}

TaskQueue::~TaskQueue() {
  if (efd_ >= 0) ::close(efd_);
}

void TaskQueue::post(Task task) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = pending_.empty();
    pending_.push_back(std::move(task));
  }
  // Only the first post into an empty queue writes: the loop swaps everything at once.
  if (wake) {
    uint64_t one = 1;
    ssize_t n = ::write(efd_, &one, sizeof one);
    (void)n;
  }
}

void TaskQueue::on_readable() {
  uint64_t count;
  while (::read(efd_, &count, sizeof count) > 0) {
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.swap(pending_);
  }
  for (auto& task : running_) task(loop_);
  running_.clear();
}

}  // namespace reactor
