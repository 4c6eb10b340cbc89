// upper: returns each received byte upper-cased (ASCII a-z only), in place in the receive buffer.
#pragma once

#include <cstddef>

#include "reactor/connection.h"
#include "reactor/handler.h"
#include "server/protocols/protocol.h"

namespace reactord {

// Byte-wise and stateless, so chunk boundaries never matter.
void upper_ascii(char* p, size_t n);

class UpperHandler final : public reactor::ConnectionHandler {
 public:
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override {
    upper_ascii(data.data(), data.size());
    c.send(std::move(data));
  }
};

Protocol upper_protocol();  // registered in builtin.def

}  // namespace reactord
