// fd_pressure: one lock and one timestamp shared by every loop of the process.
#include "reactor/src/fd_pressure.h"

#include <sys/socket.h>

#include <atomic>

namespace reactor::fd_pressure {

namespace {
constexpr uint64_t kHoldMs = 1000;
std::atomic<uint64_t> g_until{0};
std::mutex g_lock;
}  // namespace

bool active(uint64_t now_ms) {
  return now_ms < g_until.load(std::memory_order_relaxed);
}

void note(uint64_t now_ms) {
  g_until.store(now_ms + kHoldMs, std::memory_order_relaxed);
}

std::mutex& lock() {
  return g_lock;
}

int accept_serialized(int listen_fd, int flags) {
  std::lock_guard<std::mutex> guard(g_lock);
  return ::accept4(listen_fd, nullptr, nullptr, flags);
}

}  // namespace reactor::fd_pressure
