// LoopHeartbeat: sequence numbers posted through EventLoop::post and read back with acquire.
#include "server/heartbeat.h"

namespace reactord {

LoopHeartbeat::LoopHeartbeat(reactor::LoopGroup& group)
    : group_(group),
      answered_(std::make_shared<std::vector<std::atomic<uint64_t>>>(group.size())) {}

void LoopHeartbeat::send() {
  uint64_t seq = ++seq_;
  for (size_t i = 0; i < answered_->size(); ++i) {
    group_.loop(i).post([answered = answered_, i, seq](reactor::EventLoop&) {
      (*answered)[i].store(seq, std::memory_order_release);
    });
  }
}

std::vector<int> LoopHeartbeat::late() const {
  std::vector<int> out;
  for (size_t i = 0; i < answered_->size(); ++i) {
    if ((*answered_)[i].load(std::memory_order_acquire) != seq_) out.push_back(static_cast<int>(i));
  }
  return out;
}

}  // namespace reactord
