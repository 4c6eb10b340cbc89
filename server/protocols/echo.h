// echo (RFC 862): every byte received goes back unchanged, zero-copy (the receive buffer is sent).
#pragma once

#include "reactor/connection.h"
#include "reactor/handler.h"
#include "server/protocols/protocol.h"

namespace reactord {

// Stateless: one instance can serve any number of connections on any loop.
class EchoHandler final : public reactor::ConnectionHandler {
 public:
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override { c.send(std::move(data)); }
};

Protocol echo_protocol();  // registered in builtin.def

}  // namespace reactord
