// Connection: the handler-facing send/close API; flow control lives with the loop.
#include "reactor/connection.h"

#include "reactor/event_loop.h"
#include "reactor/log.h"

namespace reactor {

void Connection::send(Buffer&& data) {
  loop_->assert_in_loop_thread();
  if (flags_ & (kClosed | kShutWr)) return;  // nobody to deliver to: the buffer goes back
  size_t n = data.size();
  if (!wq_.empty() && loop_->buffers().is_scarce(data.id())) {
    // Bytes already wait ahead of these, so this receive-ring buffer would sit in the queue
    // for a while; copy it out so the ring refills and other connections keep receiving.
    send(data.data(), n);
    return;
  }
  wq_.append_buffer(loop_->slices(), std::move(data));
  loop_->stats().write_queue_bytes.add(n);
  after_append();
}

void Connection::send(const void* data, size_t len) {
  loop_->assert_in_loop_thread();
  if ((flags_ & (kClosed | kShutWr)) || len == 0) return;
  uint64_t before = wq_.bytes();
  if (!wq_.append_copy(loop_->slices(), static_cast<const char*>(data), len)) {
    // The pool cap is sized far above the sum of high-water marks; hitting it means memory
    // for this loop is exhausted. Dropping bytes silently is not an option: cut the connection.
    loop_->stats().write_queue_bytes.add(wq_.bytes() - before);
    LOG_ERROR("buffer pool exhausted (%zu buffers); aborting connection fd %d",
              loop_->buffers().max_buffers(), fd_);
    loop_->stats().pool_exhausted.add();
    abort(true);
    return;
  }
  loop_->stats().write_queue_bytes.add(len);
  after_append();
}

void Connection::after_append() {
  loop_->maybe_pause(*this);
  // Outside a callback nothing will flush for us later: try the write now.
  if (!(flags_ & kInCallback)) loop_->flush_after_callback(*this);
}

void Connection::close() {
  loop_->assert_in_loop_thread();
  if (flags_ & (kClosing | kClosed)) return;
  set_reclaimable(false);
  set(kClosing);
  if (!(flags_ & kPaused)) loop_->backend().stop_receive(*this);
  if (!(flags_ & kInCallback)) loop_->finish_close_if_ready(*this);
}

void Connection::set_reclaimable(bool on) {
  if (on == has(kReclaimable) || (on && !is_open())) return;
  if (on) {
    set(kReclaimable);
    loop_->lru_push(*this);
  } else {
    clear(kReclaimable);
    loop_->lru_unlink(*this);
  }
}

void Connection::add_held_bytes(int64_t delta) {
  loop_->assert_in_loop_thread();
  if (delta < 0 && static_cast<uint64_t>(-delta) > held_) delta = -static_cast<int64_t>(held_);
  held_ += static_cast<uint64_t>(delta);
  loop_->on_held_bytes(*this, delta);
}

void Connection::abort(bool reset) {
  loop_->assert_in_loop_thread();
  loop_->close_now(*this, reset);
}

}  // namespace reactor
