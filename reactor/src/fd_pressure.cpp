// fd_pressure: one lock, one timestamp and one pool of spare descriptors for every loop of the
// process.
#include "reactor/src/fd_pressure.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <vector>

namespace reactor::fd_pressure {

namespace {
constexpr uint64_t kHoldMs = 1000;
std::atomic<uint64_t> g_until{0};
std::mutex g_lock;
std::vector<int> g_spares;  // guarded by g_lock
size_t g_wanted = 0;        // guarded by g_lock: one per live loop

int open_spare() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// Called with g_lock held: reopen spares lost earlier, as far as descriptors allow.
void top_up() {
  while (g_spares.size() < g_wanted) {
    int fd = open_spare();
    if (fd < 0) return;
    g_spares.push_back(fd);
  }
}
}  // namespace

bool active(uint64_t now_ms) {
  return now_ms < g_until.load(std::memory_order_relaxed);
}

void note(uint64_t now_ms) {
  g_until.store(now_ms + kHoldMs, std::memory_order_relaxed);
}

void add_spare() {
  std::lock_guard<std::mutex> guard(g_lock);
  ++g_wanted;
  top_up();
}

void remove_spare() {
  std::lock_guard<std::mutex> guard(g_lock);
  if (g_wanted > 0) --g_wanted;
  while (g_spares.size() > g_wanted) {
    ::close(g_spares.back());
    g_spares.pop_back();
  }
}

int shed(int listen_fd, uint64_t now_ms) {
  std::lock_guard<std::mutex> guard(g_lock);
  note(now_ms);
  top_up();
  if (g_spares.empty()) return -1;
  ::close(g_spares.back());
  g_spares.pop_back();
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  top_up();
  return fd >= 0 ? 1 : 0;
}

bool keep_accepted(int fd) {
  std::lock_guard<std::mutex> guard(g_lock);
  top_up();
  if (g_spares.size() >= g_wanted) return true;
  // Out of descriptors and short of a spare: this accept took the slot a shed had freed.
  ::close(fd);
  top_up();
  return false;
}

size_t spares() {
  std::lock_guard<std::mutex> guard(g_lock);
  return g_spares.size();
}

int accept_serialized(int listen_fd, int flags) {
  std::lock_guard<std::mutex> guard(g_lock);
  return ::accept4(listen_fd, nullptr, nullptr, flags);
}

}  // namespace reactor::fd_pressure
