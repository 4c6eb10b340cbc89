// One TCP (or Unix stream) connection: its socket, write queue, flow-control and close state.
#pragma once

#include <cstdint>
#include <string_view>

#include "reactor/buffer_pool.h"
#include "reactor/timer_wheel.h"
#include "reactor/write_queue.h"

namespace reactor {

class EventLoop;
class ConnectionHandler;

// Names a connection across threads: slot + generation. A stale id (the slot was reused)
// never matches; raw Connection pointers must not leave the loop thread.
struct ConnectionId {
  uint32_t slot = UINT32_MAX;
  uint32_t gen = 0;
  bool operator==(const ConnectionId&) const = default;
};

// Thread affinity: owned by its EventLoop (stored in the loop's slot table, which outlives it);
// every method must run on that loop's thread.
//
// Lifetime: the loop creates a Connection at accept/connect and frees its slot at the end of
// the loop turn in which the socket was closed, so a Connection& stays valid for the whole of
// any callback even if the callback closes it. The idle timer is the inherited TimerNode.
class Connection : public TimerNode {
 public:
  enum Flag : uint32_t {
    kPaused = 1 << 0,         // reading stopped: write queue above the high-water mark
    kPeerEof = 1 << 1,        // peer's FIN seen; no more reads
    kClosing = 1 << 2,        // graceful close: finish the queue, then FIN, then close
    kClosed = 1 << 3,         // socket closed; the slot is freed at the end of the turn
    kInCallback = 1 << 4,     // inside a handler callback: sends are coalesced, flushed after
    kShutWr = 1 << 5,         // our FIN is sent; reads are drained and discarded until EOF
    kConnecting = 1 << 6,     // client connect in progress
    kQuiet = 1 << 7,          // drain: no activity since the drain began
    kClient = 1 << 8,         // created by connect(), not accept()
    kOpened = 1 << 9,         // on_open ran (so on_close is owed)
    kReclaimable = 1 << 10,   // idle between requests: may be closed first under overload
    kShed = 1 << 11,          // closed by the memory budget (it held the most)
    kAbortPending = 1 << 12,  // shed inside its own callback: aborted when the callback returns
    kMemoryPaused = 1 << 13,  // kPaused was set by memory pressure, not by the high-water mark
    kFinPending = 1 << 14,    // the peer's FIN arrived while reading was paused
    kUserPaused = 1 << 15,    // the protocol called pause_reading()
    kFinWanted = 1 << 16,     // shutdown_write(): FIN once the queue is sent
    kFinSent = 1 << 17,       // ... sent; reading goes on to the peer's FIN
    kWantWritable = 1 << 18,  // queue above high water, reading not paced: on_writable owed
    kInputHeld = 1 << 19,     // input that came after pause_reading() waits in the loop
  };

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues bytes for sending; never loses a byte. Inside a handler callback the bytes go out
  // in one write after the callback returns; elsewhere the write is tried at once.
  void send(Buffer&& data);
  void send(const void* data, size_t len);
  void send(std::string_view s) { send(s.data(), s.size()); }

  // Graceful close: stop reading, flush what is queued, send FIN, then close the socket once
  // the peer's FIN arrives (or a short linger expires). Never loses queued bytes.
  void close();
  // Immediate close: the queue is dropped. reset=true sends RST (SO_LINGER 0): no TIME_WAIT.
  void abort(bool reset = false);
  // Half-close: send FIN once everything queued has gone out, and keep receiving; on_data
  // goes on until the peer's FIN (on_peer_closed). Later send()s are ignored. A proxy passes
  // a client's FIN on this way.
  void shutdown_write();

  // Stops on_data until resume_reading() (a proxy whose other side cannot take more, say).
  // Unread bytes wait in the kernel, which pushes back on the peer; bytes a backend had
  // already received (an io_uring receive in flight) wait in the loop, counted in its memory
  // budget, and come first, in order, after resume_reading() (from the loop's turn, not from
  // inside that call). Independent of the loop's own pausing (high-water mark, memory
  // budget): reading runs when neither holds it.
  void pause_reading();
  void resume_reading();

  uint64_t queued_bytes() const { return wq_.bytes(); }
  // Bytes the protocol holds for this connection outside the write queue (a collected body,
  // say): positive to take, negative to give back. They count against the loop's
  // --buffer-memory budget and toward this connection's share when the loop picks whom to
  // pause or close under pressure. Whatever is still held is given back at close.
  void add_held_bytes(int64_t delta);
  uint64_t held_bytes() const { return held_; }
  bool is_open() const { return (flags_ & (kClosing | kClosed)) == 0; }
  bool closed() const { return flags_ & kClosed; }
  bool has(Flag f) const { return flags_ & f; }
  bool peer_closed() const { return flags_ & kPeerEof; }
  // Reading stopped by the loop (this connection's queue is above the high-water mark, or
  // memory is short) or by pause_reading().
  bool reading_paused() const { return flags_ & (kPaused | kUserPaused); }
  bool write_shut() const { return flags_ & (kFinWanted | kFinSent | kShutWr); }
  int fd() const { return fd_; }
  ConnectionId id() const { return ConnectionId{slot_, gen_}; }
  EventLoop& loop() const { return *loop_; }
  ConnectionHandler* handler() const { return handler_; }
  // Hands every later callback to `h` (a PROXY header gate passes the connection to its
  // protocol once the header is read). Only from inside a callback of the current handler.
  void set_handler(ConnectionHandler* h) { handler_ = h; }
  // Per-connection protocol state (owned by the handler; free it in on_close).
  void* user() const { return user_; }
  void set_user(void* p) { user_ = p; }
  // Marks the connection idle between requests (true) or busy (false). When --max-conns is
  // reached, the loop closes its longest-idle reclaimable connection to admit a new one (as
  // nginx reuses idle keep-alive connections) instead of refusing the newcomer.
  void set_reclaimable(bool on);

  // Index of the listener that accepted it (for per-listener metrics), or 0xffff for clients.
  uint16_t listener_index() const { return listener_; }

 private:
  friend class EventLoop;
  friend class LoopPort;  // the backends' view of the write queue (reactor/src/loop_port.h)

  void set(Flag f) { flags_ |= f; }
  void clear(Flag f) { flags_ &= ~static_cast<uint32_t>(f); }
  void after_append();

  EventLoop* loop_ = nullptr;
  ConnectionHandler* handler_ = nullptr;
  void* user_ = nullptr;
  WriteQueue wq_;
  int fd_ = -1;
  uint32_t slot_ = 0;
  uint32_t gen_ = 0;
  uint32_t last_active_ms_ = 0;  // loop-relative, wraps every 49 days (compared by difference)
  uint32_t flags_ = 0;
  uint16_t listener_ = 0xffff;
  uint16_t admit_to_ = 0xffff;  // reclaimed for a newcomer waiting on this loop index
  uint64_t held_ = 0;           // add_held_bytes() total
  // The I/O backend's own per-connection state (readiness bits, operations in flight): opaque
  // here, typed and owned by the backend through LoopPort::backend_state<T>() (loop_port.h).
  static constexpr size_t kBackendStateBytes = 8;
  alignas(8) unsigned char backend_state_[kBackendStateBytes] = {};
  uint32_t lru_prev_ = UINT32_MAX;  // reclaimable list, by slot
  uint32_t lru_next_ = UINT32_MAX;
};

}  // namespace reactor
