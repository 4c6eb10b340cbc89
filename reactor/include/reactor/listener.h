// Listening sockets: creation with the options a busy server needs, and the per-loop Listener.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "reactor/socket_address.h"

namespace reactor {

class ConnectionHandler;

struct ListenOptions {
  int backlog = 4096;
  bool reuse_port = true;  // one socket per loop; the kernel spreads connections
  int defer_accept_s = 0;  // TCP_DEFER_ACCEPT: wake accept only once data arrived (0 = off)
  int fastopen_queue = 0;  // TCP_FASTOPEN: pending TFO requests allowed (0 = off)
};

// A listening socket registered with one loop. Owned by the EventLoop it was added to.
// Thread affinity: the owning loop reads and changes everything here, without locking. Other
// threads (a /metrics scrape on a sibling loop) read only the fields that never change after
// add_listener (index, protocol, address), and the fd through with_open_fd(). The fd is
// changed after start only by close_fd(), once, under fd_mu_: a scrape therefore never reads
// it while it is written, and never queries a number that was closed and reused meanwhile.
// The lock is taken by scrapes and that one close only, never on the accept path.
struct Listener {
  int fd = -1;         // owning loop: read freely; other threads: with_open_fd() only
  uint16_t index = 0;  // position in the loop's listener list
  ConnectionHandler* handler = nullptr;
  std::string protocol;   // "echo", "upper", ... (for logs and metrics)
  SocketAddress address;  // as bound (port filled in after binding port 0)
  bool accepting = false;
  // unix: remove the socket file when closing (false for a socket someone else created, e.g.
  // one passed by systemd, whose path must outlive this process).
  bool unlink_on_close = true;

  // Owning loop: closes the socket (if open) and sets fd = -1, under fd_mu_.
  void close_fd();
  // Any thread: calls fn(fd) while holding fd_mu_, if the socket is still open; returns
  // whether it was. Keep fn short (one getsockopt): the owner's close_fd() waits for it.
  template <typename Fn>
  bool with_open_fd(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(fd_mu_);
    if (fd < 0) return false;
    fn(fd);
    return true;
  }

 private:
  mutable std::mutex fd_mu_;
};

// Reads /proc/sys/net/core/somaxconn; -1 when unreadable.
int read_somaxconn();

// Checks that nobody else serves `addr`: binds it once without SO_REUSEPORT (so an existing
// SO_REUSEPORT group elsewhere makes it fail instead of silently admitting us). TCP only.
// Returns 0 or an errno (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...).
int probe_address_free(const SocketAddress& addr);

// Creates a non-blocking, close-on-exec listening socket bound to `addr`. For TCP:
// SO_REUSEADDR always (restart while old connections sit in TIME_WAIT), SO_REUSEPORT when
// asked. For unix: a stale socket file (nobody accepting on it) is removed first; a live one,
// or a path that is not a socket, is an error. Returns the fd, or -1 with errno-style `*err`
// and a human-readable reason in `*error`.
int open_listen_socket(const SocketAddress& addr, const ListenOptions& opts, int* err,
                       std::string* error);

// Reads the bound address back (to learn the port chosen for port 0).
SocketAddress bound_address(int fd);

}  // namespace reactor
