// Pacer: a one-shot absolute timerfd, re-armed to the next deadline after every wake-up.
#include "bench/loadgen/pacer.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bench/loadgen/worker.h"
#include "reactor/clock.h"

namespace reactord::bench {

Pacer::Pacer(reactor::EventLoop& loop, Worker& worker) : loop_(loop), worker_(worker) {
  fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(std::string("timerfd_create: ") + strerror(errno));
  loop_.watch(fd_, this);
}

Pacer::~Pacer() {
  loop_.unwatch(fd_, this);
  ::close(fd_);
}

void Pacer::wake_at(uint64_t deadline_ns) {
  if (deadline_ns >= armed_ns_) return;
  armed_ns_ = deadline_ns;
  itimerspec its{};
  // An all-zero it_value would disarm; a deadline in the past fires at once, which is the point.
  uint64_t t = deadline_ns == 0 ? 1 : deadline_ns;
  its.it_value.tv_sec = static_cast<time_t>(t / 1000000000u);
  its.it_value.tv_nsec = static_cast<long>(t % 1000000000u);
  timerfd_settime(fd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

void Pacer::on_readable() {
  uint64_t expirations;
  // The watch is level-triggered: reading clears it. EAGAIN means a callback earlier in this
  // turn re-armed the timer (which resets it) to a deadline not yet reached: keep waiting.
  if (::read(fd_, &expirations, sizeof expirations) < 0) return;
  armed_ns_ = kNever;
  uint64_t next = worker_.on_pacer(reactor::monotonic_ns());
  if (next != kNever) wake_at(next);
}

}  // namespace reactord::bench
