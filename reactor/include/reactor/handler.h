// The protocol seam: what a protocol implements to be served by the reactor.
#pragma once

#include "reactor/buffer_pool.h"

namespace reactor {

class Connection;

// Thread affinity: every callback runs on the connection's loop thread, never concurrently
// for one connection. One handler object may serve many connections (echo and upper are
// stateless); per-connection protocol state hangs off Connection::user().
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;

  // The connection is established (accepted, or a client connect completed).
  virtual void on_open(Connection&) {}
  // Bytes arrived. The handler owns `data` (a pool buffer): send it on, keep it, or let it go.
  // Replies sent from here are coalesced: they are flushed in one write after the call returns.
  virtual void on_data(Connection& c, Buffer&& data) = 0;
  // The peer sent FIN. The connection may still send; the default finishes sending, then closes.
  virtual void on_peer_closed(Connection& c);
  // The write queue fell below the low-water mark after having been above the high one.
  virtual void on_writable(Connection&) {}
  // The loop started draining (shutdown). Protocols that know they are between requests
  // close at once; the default lets the loop close the connection once it goes quiet.
  virtual void on_drain(Connection&) {}
  // The socket failed with errno `err` (ECONNRESET, EPIPE, ...); on_close follows.
  virtual void on_error(Connection&, int /*err*/) {}
  // Last callback: the connection is gone (fd closed). Free per-connection state here.
  virtual void on_close(Connection&) {}
  // A client-side connect failed with errno `err`; on_close follows.
  virtual void on_connect_failed(Connection&, int /*err*/) {}
};

}  // namespace reactor
