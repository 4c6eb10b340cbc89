// EventLoop's held input: what arrives for a connection the protocol paused (pause_reading())
// waits in the loop, in order, and reaches the handler only after resume_reading().
//
// A backend cannot always stop at once: an io_uring multishot receive keeps completing until
// its cancel lands (a bulk stream measured up to ~1.3 MB), and epoll hands over a whole chain
// of buffers read by one readv. Rather than teach every backend to stop mid-flight, the loop
// holds whatever comes after the pause: the buffers, then the EOF or the error behind them.
#include <cstring>

#include "reactor/event_loop.h"
#include "reactor/handler.h"
#include "reactor/src/io_backend.h"

namespace reactor {

void EventLoop::hold_input(Connection& c, Buffer&& data) {
  HeldInput& h = held_input_[c.slot_];
  c.set(Connection::kInputHeld);
  const size_t n = data.size();
  if (!h.buffers.empty()) {
    // Small pieces (a burst of messages) share a buffer: each would otherwise cost a whole one.
    Buffer& tail = h.buffers.back();
    if (!pool_.is_scarce(tail.id()) && pool_.buffer_size() - tail.end() >= n) {
      memcpy(pool_.address(tail.id()) + tail.end(), data.data(), n);
      tail.set_range(tail.begin(), tail.end() + static_cast<uint32_t>(n));
      return;
    }
  }
  if (pool_.is_scarce(data.id())) {
    // A receive-ring buffer goes back to the ring, so other connections keep receiving while
    // this one waits for its protocol. Without a spare pool buffer it is kept as it is.
    if (Buffer copy = pool_.acquire()) {
      memcpy(copy.data(), data.data(), n);
      copy.set_range(0, static_cast<uint32_t>(n));
      data = std::move(copy);
    }
  }
  h.buffers.push_back(std::move(data));
  // Counted in memory_used() already (pool buffers out of the pool); this is where it grew.
  if (over_pressure_mark()) check_memory(&c);
}

// The peer's FIN or a socket error behind held bytes: reported after them.
bool EventLoop::hold_end(Connection& c, int err) {
  if (!c.has(Connection::kUserPaused) && !c.has(Connection::kInputHeld)) return false;
  if (err != 0 && !c.has(Connection::kInputHeld)) return false;  // nothing to keep it behind
  HeldInput& h = held_input_[c.slot_];
  c.set(Connection::kInputHeld);
  if (err != 0)
    h.error = err;
  else
    h.eof = true;
  return true;
}

uint64_t EventLoop::held_input_bytes(const Connection& c) const {
  if (!c.has(Connection::kInputHeld)) return 0;
  auto it = held_input_.find(c.slot_);
  return it == held_input_.end() ? 0 : it->second.buffers.size() * uint64_t{pool_.buffer_size()};
}

// close() discards input, as it does bytes arriving after it; a held FIN still makes our
// close the passive one. close_now() drops everything.
void EventLoop::drop_held_input(Connection& c, bool keep_eof) {
  if (!c.has(Connection::kInputHeld)) return;
  c.clear(Connection::kInputHeld);
  auto it = held_input_.find(c.slot_);
  if (it == held_input_.end()) return;
  if (keep_eof && it->second.eof) c.set(Connection::kPeerEof);
  held_input_.erase(it);  // the buffers go back to the pool
}

// Reading may run again (the protocol's or the loop's pause ended): held input first, from the
// loop's turn rather than inside the resume_reading() call; the backend receives only after.
void EventLoop::restart_input(Connection& c) {
  if (c.has(Connection::kInputHeld))
    input_ready_.push_back(c.id());
  else
    backend_->start_receive(c);
}

void EventLoop::deliver_ready_input() {
  ready_running_.swap(input_ready_);
  for (ConnectionId id : ready_running_) {
    Connection* c = find(id);
    if (c != nullptr && !c->closed() && c->has(Connection::kInputHeld)) deliver_held(*c);
  }
  ready_running_.clear();
}

void EventLoop::deliver_held(Connection& c) {
  constexpr uint32_t kStop = Connection::kUserPaused | Connection::kPaused | Connection::kClosing |
                             Connection::kClosed | Connection::kAbortPending;
  for (;;) {
    if (c.flags_ & kStop) return;  // paused again meanwhile: the rest waits for that resume
    auto it = held_input_.find(c.slot_);
    if (it == held_input_.end()) {
      c.clear(Connection::kInputHeld);
      return;
    }
    HeldInput& h = it->second;
    if (!h.buffers.empty()) {
      Buffer b = std::move(h.buffers.front());
      h.buffers.pop_front();
      dispatch_data(c, std::move(b));
      continue;
    }
    const bool eof = h.eof;
    const int err = h.error;
    held_input_.erase(it);
    c.clear(Connection::kInputHeld);
    if (err != 0)
      on_io_error(c, err);
    else if (eof)
      on_peer_eof(c);
    else if (!c.has(Connection::kPeerEof))
      backend_->start_receive(c);
    return;
  }
}

}  // namespace reactor
