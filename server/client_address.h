// The address of the client behind a connection: the source a trusted balancer's PROXY header
// named, or else the socket's peer.
#pragma once

#include "reactor/connection.h"
#include "reactor/socket_address.h"

namespace reactord {

// The client of `c`: the PROXY header's source address when the connection came through a
// --proxy-from balancer that sent one (PROXY command, not LOCAL), else getpeername().
// On c's loop thread, while the socket is open (in on_close it is already closed: ask
// earlier). family() == AF_UNSPEC when the address cannot be had.
reactor::SocketAddress client_address(const reactor::Connection& c);

// Records the PROXY header's source for `c` (the PROXY gate calls it, on c's loop thread).
// Only proxied connections pay for this: a small entry in a per-thread side table keyed by
// the connection's loop and slot, never a field in every Connection.
void set_client_address(const reactor::Connection& c, const reactor::SocketAddress& addr);

}  // namespace reactord
