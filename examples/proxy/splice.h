// Proxy example: splices an accepted connection and its upstream connection, both ways, with
// backpressure each way and half-close passed through.
#pragma once

#include "reactor/connection.h"
#include "reactor/handler.h"
#include "reactor/socket_address.h"

namespace proxy {

// The two connections of one proxied session, on one loop; each one's Connection::user()
// points here. Freed when both have closed.
struct Pair {
  reactor::Connection* side[2] = {nullptr, nullptr};  // [0] the client's, [1] the upstream
};

// What both sides do with bytes, watermarks, FINs and errors.
//
// Backpressure: bytes read from one side are queued on the other. Once that queue passes the
// loop's high-water mark the reading side is paused; when the queue falls back to the
// low-water mark (on_writable) it is resumed. So each direction holds at most about
// high_water bytes plus one read, however slowly either peer reads.
//
// Half-close: a peer's FIN becomes a FIN to the other peer once everything before it has been
// sent (shutdown_write), and the other direction keeps flowing. When both directions have
// ended, both connections close. A reset or error on one side aborts the other with a reset.
class Splice : public reactor::ConnectionHandler {
 public:
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override;
  void on_writable(reactor::Connection& c) override;
  void on_peer_closed(reactor::Connection& c) override;
  void on_close(reactor::Connection& c) override;

 protected:
  static reactor::Connection* other(reactor::Connection& c);
};

// The accepted side: connects upstream and holds the client's bytes until that succeeds.
class ClientSide final : public Splice {
 public:
  ClientSide(const reactor::SocketAddress& upstream, Splice& upstream_side)
      : upstream_(upstream), upstream_side_(upstream_side) {}
  void on_open(reactor::Connection& c) override;

 private:
  reactor::SocketAddress upstream_;
  Splice& upstream_side_;
};

// The connected side: lets the client's bytes flow once connected; a failed connect closes
// the client's connection.
class UpstreamSide final : public Splice {
 public:
  void on_open(reactor::Connection& c) override;
  void on_connect_failed(reactor::Connection& c, int err) override;
};

}  // namespace proxy
