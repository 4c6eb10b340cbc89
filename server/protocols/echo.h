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

inline Protocol echo_protocol() {
  return tcp_protocol("echo", "127.0.0.1:7000", plain_handler<EchoHandler>());
}

}  // namespace reactord
