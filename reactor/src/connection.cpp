// Connection: the handler-facing send/close API; flow control lives with the loop.
#include "reactor/connection.h"

#include "reactor/event_loop.h"
#include "reactor/log.h"
#include "reactor/src/io_backend.h"

namespace reactor {

void Connection::send(Buffer&& data) {
  loop_->assert_in_loop_thread();
  if (flags_ & (kClosed | kShutWr | kAbortPending | kFinWanted | kFinSent)) return;
  size_t n = data.size();
  BufferPool& pool = loop_->buffers();
  // A receive-ring buffer queued behind a bundle's worth of bytes would sit there a while:
  // copied, it goes straight back to the ring so other connections keep receiving. Behind
  // less it is most likely the rest of its own bundle, which leaves in the same send (copying
  // those cost a memcpy of nearly every byte of a bulk echo); a peer that stops reading gets
  // its ring buffers copied out when its send finds the socket full (UringBackend::unpin).
  constexpr uint32_t kRingQueueBuffers = 16;
  if (!wq_.empty() &&
      (n <= pool.buffer_size() / 2 ||
       (pool.is_scarce(data.id()) && wq_.bytes() >= kRingQueueBuffers * pool.buffer_size()))) {
    // Bytes already wait ahead of these. Packed into the tail, a half-empty buffer does not
    // cost twice its bytes.
    if (pool.is_scarce(data.id())) loop_->stats().ring_copies.add();
    send(data.data(), n);
    return;
  }
  wq_.append_buffer(loop_->slices_, std::move(data));
  loop_->stats().write_queue_bytes.add(n);
  after_append();
}

void Connection::send(const void* data, size_t len) {
  loop_->assert_in_loop_thread();
  if ((flags_ & (kClosed | kShutWr | kAbortPending | kFinWanted | kFinSent)) || len == 0) return;
  const char* p = static_cast<const char*>(data);
  uint64_t before = wq_.bytes();
  bool ok = wq_.append_copy(loop_->slices_, p, len);
  if (!ok) {
    // The pool is at its cap. Free memory by closing whoever holds the most (which may be
    // this connection), never by dropping these bytes or by punishing a connection just
    // because it asked; then try once more.
    size_t done = wq_.bytes() - before;
    loop_->stats().write_queue_bytes.add(done);
    loop_->on_pool_exhausted(this);
    if (flags_ & (kClosed | kAbortPending)) return;
    before = wq_.bytes();
    ok = wq_.append_copy(loop_->slices_, p + done, len - done);
    len = wq_.bytes() - before;
    if (!ok) {
      loop_->stats().write_queue_bytes.add(len);
      REACTOR_LOG_ERROR(
          "buffer pool exhausted (%zu buffers) and nothing to reclaim; aborting fd %d",
          loop_->buffers().max_buffers(), fd_);
      abort(true);
      return;
    }
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
  loop_->drop_held_input(*this, /*keep_eof=*/true);  // input after close() is discarded
  if (!(flags_ & kPaused)) loop_->backend_->stop_receive(*this);
  if (!(flags_ & kInCallback)) loop_->finish_close_if_ready(*this);
}

void Connection::shutdown_write() {
  loop_->assert_in_loop_thread();
  if (flags_ & (kClosing | kClosed | kFinWanted | kFinSent)) return;
  set(kFinWanted);
  if (!(flags_ & kInCallback)) loop_->finish_close_if_ready(*this);
}

void Connection::pause_reading() {
  loop_->assert_in_loop_thread();
  if (flags_ & (kUserPaused | kClosing | kClosed)) return;
  set(kUserPaused);
  if (!(flags_ & (kPaused | kPeerEof))) loop_->backend_->stop_receive(*this);
}

void Connection::resume_reading() {
  loop_->assert_in_loop_thread();
  if (!(flags_ & kUserPaused)) return;
  clear(kUserPaused);
  if (flags_ & (kPaused | kClosing | kClosed)) return;
  if (flags_ & kInputHeld)
    loop_->restart_input(*this);  // what came after the pause goes first
  else if (!(flags_ & kPeerEof))
    loop_->backend_->start_receive(*this);
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
