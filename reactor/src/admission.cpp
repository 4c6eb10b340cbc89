// Admission: the shared --max-conns count and cross-loop reclaim requests.
#include "reactor/admission.h"

#include "reactor/event_loop.h"

namespace reactor {

uint32_t Admission::attach(EventLoop* loop) {
  std::lock_guard<std::mutex> lock(mu_);
  if (loops_.size() >= kMaxLoops) return kNone;
  loops_.push_back(loop);
  uint32_t index = static_cast<uint32_t>(loops_.size() - 1);
  claimable_[index].store(0, std::memory_order_relaxed);
  return index;
}

void Admission::detach(uint32_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index < loops_.size()) loops_[index] = nullptr;
  if (index < kMaxLoops) claimable_[index].store(0, std::memory_order_relaxed);
}

bool Admission::try_take(int64_t max) {
  int64_t now = open_->load(std::memory_order_relaxed);
  do {
    if (max > 0 && now >= max) return false;
  } while (!open_->compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  return true;
}

void Admission::add_claimable(uint32_t index, int64_t delta) {
  if (index < kMaxLoops) claimable_[index].fetch_add(delta, std::memory_order_relaxed);
}

uint32_t Admission::claim_peer(uint32_t self) {
  size_t n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = loops_.size();
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (i == self) continue;
    int64_t have = claimable_[i].load(std::memory_order_relaxed);
    while (have > 0) {
      if (claimable_[i].compare_exchange_weak(have, have - 1, std::memory_order_relaxed)) return i;
    }
  }
  return kNone;
}

bool Admission::post(uint32_t index, TaskQueue::Task task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= loops_.size() || !loops_[index]) return false;
  loops_[index]->post(std::move(task));
  return true;
}

}  // namespace reactor
