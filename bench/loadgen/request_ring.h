// Per-connection FIFO of requests: those written and awaiting replies, then those still queued.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace reactord::bench {

struct PendingRequest {
  uint64_t intended_ns;  // when the schedule meant it to go out (== sent_ns in closed loop)
  uint64_t sent_ns;      // when it was handed to the connection
  uint64_t seq;          // selects the payload (echo/upper)
};

// Replies come back in request order (the byte stream is FIFO), so the front is always the
// request the next reply answers. Layout: [head_, sent_) written, [sent_, tail_) queued.
// Indices only grow and are masked; capacity doubles when a backlog outgrows it, so the steady
// state never allocates.
class RequestRing {
 public:
  explicit RequestRing(size_t capacity = 4) { grow_to(capacity); }

  size_t in_flight() const { return static_cast<size_t>(sent_ - head_); }
  size_t queued() const { return static_cast<size_t>(tail_ - sent_); }
  size_t size() const { return static_cast<size_t>(tail_ - head_); }
  bool empty() const { return tail_ == head_; }

  void push_queued(uint64_t intended_ns, uint64_t seq) {
    if (size() == slots_.size()) grow_to(slots_.size() * 2);
    slots_[tail_++ & mask_] = PendingRequest{intended_ns, 0, seq};
  }
  // The oldest queued request is now written.
  PendingRequest& mark_sent(uint64_t now_ns) {
    assert(queued() > 0);
    PendingRequest& r = slots_[sent_++ & mask_];
    r.sent_ns = now_ns;
    return r;
  }
  PendingRequest& front() {
    assert(in_flight() > 0);
    return slots_[head_ & mask_];
  }
  void pop_front() {
    assert(in_flight() > 0);
    ++head_;
  }
  // The connection went away with these unanswered, but the server is known not to have
  // processed them (it announced the close): they go back to the queue for the next one.
  void unsend_all() { sent_ = head_; }
  // Drops the written-but-unanswered requests (lost with a broken connection); returns how many.
  size_t drop_in_flight() {
    size_t n = in_flight();
    head_ = sent_;
    return n;
  }
  size_t clear() {
    size_t n = size();
    head_ = sent_ = tail_;
    return n;
  }

 private:
  void grow_to(size_t cap) {
    size_t pow2 = 1;
    while (pow2 < cap) pow2 <<= 1;
    std::vector<PendingRequest> next(pow2);
    for (uint64_t i = head_; i < tail_; ++i) next[i & (pow2 - 1)] = slots_[i & mask_];
    slots_.swap(next);
    mask_ = pow2 - 1;
  }

  std::vector<PendingRequest> slots_;
  uint64_t mask_ = 0;
  uint64_t head_ = 0;
  uint64_t sent_ = 0;
  uint64_t tail_ = 0;
};

}  // namespace reactord::bench
