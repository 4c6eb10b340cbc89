// The backend seam, drawn at the operation level: accept, receive into a pool buffer, send the
// write-queue chain, connect, close. io_uring implements it natively; epoll emulates it with
// readiness plus non-blocking syscalls.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

#include "reactor/backend_kind.h"
#include "reactor/fd_watcher.h"
#include "reactor/src/loop_port.h"

namespace reactor {

class Connection;
struct Listener;

// Thread affinity: one backend per EventLoop, used only on that loop's thread.
//
// Completions are delivered through the LoopPort the backend was made with (loop_port.h); a
// backend never calls protocol handlers itself. Per-connection state a backend needs is its own
// small struct kept in the Connection's opaque backend area (LoopPort::backend_state<T>, reset
// in add_connection): Connection has no backend fields and no backend friends.
class IoBackend {
 public:
  virtual ~IoBackend() = default;
  virtual BackendKind kind() const = 0;
  const char* name() const { return backend_kind_name(kind()); }

  // Accepting: each accepted fd (non-blocking, close-on-exec) goes to loop.on_accepted();
  // errors (EMFILE, ...) to loop.on_accept_error().
  virtual void start_accept(Listener& l) = 0;
  virtual void stop_accept(Listener& l) = 0;

  // A new connection's socket (accepted, or connecting when kConnecting is set).
  virtual void add_connection(Connection& c) = 0;
  // Begin a client connect; completion goes to loop.on_connected(c, err).
  virtual void connect(Connection& c, const sockaddr* addr, socklen_t len) = 0;
  // Deliver received bytes as pool buffers to loop.on_received(); FIN to loop.on_peer_eof();
  // socket errors to loop.on_io_error(). stop_receive is flow control, not teardown.
  virtual void start_receive(Connection& c) = 0;
  virtual void stop_receive(Connection& c) = 0;
  // Send the connection's write queue in order; progress goes to loop.on_sent(c, n).
  virtual void flush(Connection& c) = 0;
  // Our FIN, once the write queue is sent (graceful close): 0 or an errno.
  virtual int shutdown_write(Connection& c);
  // The close() that follows sends RST, not FIN (SO_LINGER 0): no TIME_WAIT is kept.
  virtual void reset_on_close(Connection& c);
  // Tear down: cancel what is in flight and close the socket. Calls loop.on_closed(c) once no
  // operation refers to c any more (at once for epoll; after cancellations for io_uring).
  virtual void close(Connection& c) = 0;

  virtual void watch(int fd, FdWatcher* w) = 0;
  virtual void unwatch(int fd, FdWatcher* w) = 0;

  // The loop's memory budget came under pressure (or left it): a backend that receives ahead
  // of the loop (io_uring multishot) should take one buffer at a time meanwhile.
  virtual void memory_pressure(bool /*on*/) {}

  // Buffers the backend keeps outside the pool (the io_uring receive ring) that are idle but
  // resident; trim_idle() gives their pages back (called from the loop's trim timer).
  virtual size_t idle_resident_buffers() const { return 0; }
  virtual void trim_idle() {}

  // One I/O phase: wait up to timeout_ms (-1 = forever, 0 = poll) and dispatch completions.
  virtual void poll(int timeout_ms) = 0;
};

// Creates the backend for a loop. kAuto tries io_uring and falls back to epoll; a fallback
// writes the reason into *note. Returns nullptr with *error set when the asked-for backend
// cannot run (e.g. kIoUring on a kernel or build without it).
std::unique_ptr<IoBackend> make_backend(BackendKind kind, LoopPort loop, std::string* error,
                                        std::string* note);

}  // namespace reactor
