// Hashed timing wheel implementation (see timer_wheel.h for the design).
#include "reactor/timer_wheel.h"

#include <bit>

namespace reactor {

void TimerNode::cancel() {
  if (wheel_ && prev_) wheel_->unlink(this);
}

TimerWheel::TimerWheel(uint64_t now_ms, uint32_t tick_ms)
    : tick_ms_(tick_ms == 0 ? 1 : tick_ms), origin_ms_(now_ms), heads_(kSlots) {
  for (auto& h : heads_) {
    h.prev_ = &h;  // sentinel: circular list, "armed" so unlink logic stays uniform
    h.next_ = &h;
  }
}

TimerWheel::~TimerWheel() {
  for (uint32_t s = 0; s < kSlots; ++s) {
    TimerNode* head = &heads_[s];
    while (head->next_ != head) unlink(head->next_);
    head->prev_ = head->next_ = nullptr;
  }
}

void TimerWheel::unlink(TimerNode* node) {
  affinity_.assert_owner();
  node->prev_->next_ = node->next_;
  node->next_->prev_ = node->prev_;
  uint32_t slot = static_cast<uint32_t>(node->deadline_ & (kSlots - 1));
  if (heads_[slot].next_ == &heads_[slot]) clear_bit(slot);
  node->prev_ = node->next_ = nullptr;
  node->wheel_ = nullptr;
  --count_;
}

void TimerWheel::schedule(TimerNode* node, uint64_t delay_ms) {
  affinity_.assert_owner();
  if (node->armed()) node->cancel();
  // Round up, and never into the slot being processed now: a timer always waits >= 1 tick.
  // A delay near UINT64_MAX (in effect "never") must not wrap into a timer for the next tick:
  // clamp it to 2^62 ms (146 million years; the tick count since start stays far below 2^62),
  // so neither the rounding nor the deadline can overflow. One compare on the hot path.
  constexpr uint64_t kNeverMs = 1ull << 62;
  if (delay_ms > kNeverMs) delay_ms = kNeverMs;
  uint64_t ticks = (delay_ms + tick_ms_ - 1) / tick_ms_;
  if (ticks == 0) ticks = 1;
  node->deadline_ = (now_tick_ > current_ ? now_tick_ : current_) + ticks;
  uint32_t slot = static_cast<uint32_t>(node->deadline_ & (kSlots - 1));
  TimerNode* head = &heads_[slot];
  node->next_ = head;
  node->prev_ = head->prev_;
  head->prev_->next_ = node;
  head->prev_ = node;
  node->wheel_ = this;
  set_bit(slot);
  ++count_;
}

size_t TimerWheel::advance(uint64_t now_ms) {
  affinity_.assert_owner();
  uint64_t target = now_ms < origin_ms_ ? 0 : (now_ms - origin_ms_) / tick_ms_;
  if (target > now_tick_) now_tick_ = target;
  size_t fired = 0;
  while (current_ < target) {
    if (count_ == 0) {
      current_ = target;
      break;
    }
    // Jump straight to the next non-empty slot instead of stepping through empty ones.
    int64_t d = next_nonempty_distance();
    if (d < 0 || current_ + static_cast<uint64_t>(d) > target) {
      current_ = target;
      break;
    }
    current_ += static_cast<uint64_t>(d);
    uint32_t slot = static_cast<uint32_t>(current_ & (kSlots - 1));
    TimerNode* head = &heads_[slot];
    // Detach the due nodes first so callbacks that re-arm into this slot are not revisited.
    TimerNode due(nullptr);
    due.prev_ = due.next_ = &due;
    for (TimerNode* n = head->next_; n != head;) {
      TimerNode* next = n->next_;
      if (n->deadline_ <= current_) {
        n->prev_->next_ = n->next_;
        n->next_->prev_ = n->prev_;
        n->next_ = &due;
        n->prev_ = due.prev_;
        due.prev_->next_ = n;
        due.prev_ = n;
      }
      n = next;
    }
    if (head->next_ == head) clear_bit(slot);
    while (due.next_ != &due) {
      TimerNode* n = due.next_;
      due.next_ = n->next_;
      n->next_->prev_ = &due;
      n->prev_ = n->next_ = nullptr;
      n->wheel_ = nullptr;
      --count_;
      ++fired;
      if (n->cb_) n->cb_(n);
    }
    due.prev_ = due.next_ = nullptr;
  }
  return fired;
}

int64_t TimerWheel::next_nonempty_distance() const {
  // Search slots current_+1 .. current_+kSlots (wrapping) for a set bit.
  uint32_t start = static_cast<uint32_t>((current_ + 1) & (kSlots - 1));
  for (uint32_t k = 0; k <= kSlots / 64; ++k) {
    uint32_t pos = (start + k * 64) & (kSlots - 1);
    uint32_t word = pos >> 6;
    uint32_t bit = pos & 63;
    uint64_t w = bits_[word] >> bit;
    // A window that starts mid-word takes its high bits from the next word.
    if (bit != 0) w |= bits_[(word + 1) & (kSlots / 64 - 1)] << (64 - bit);
    if (w) {
      uint64_t off = static_cast<uint64_t>(k) * 64 + std::countr_zero(w);
      if (off >= kSlots) return -1;
      return static_cast<int64_t>(off + 1);
    }
  }
  return -1;
}

int TimerWheel::next_timeout_ms(uint64_t now_ms) const {
  if (count_ == 0) return -1;
  int64_t d = next_nonempty_distance();
  if (d < 0) return -1;
  uint64_t due_ms = origin_ms_ + (current_ + static_cast<uint64_t>(d)) * tick_ms_;
  if (due_ms <= now_ms) return 0;
  uint64_t wait = due_ms - now_ms;
  return wait > 3600000 ? 3600000 : static_cast<int>(wait);
}

}  // namespace reactor
