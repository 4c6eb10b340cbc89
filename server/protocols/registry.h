// The protocols reactord can serve, by name: --listen, --help, config validation, systemd's
// socket names and the server's listeners all look them up here.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "server/protocols/protocol.h"

namespace reactord {

// Thread affinity: filled before the server starts, read-only afterwards (any thread).
class ProtocolRegistry {
 public:
  ProtocolRegistry() = default;
  ProtocolRegistry(std::initializer_list<Protocol> protocols);

  // Throws std::invalid_argument naming the protocol when its name is empty or taken, or the
  // factory its transport needs is missing: a registration bug, found at start-up.
  void add(Protocol p);
  // nullptr when `name` is not registered.
  const Protocol* find(std::string_view name) const;
  const std::vector<Protocol>& all() const { return protocols_; }
  // "echo|upper|http|udp-echo": for --help and for the errors that refuse an unknown name.
  std::string names(std::string_view separator = "|") const;

 private:
  std::vector<Protocol> protocols_;  // in registration order (--help, default listeners)
};

// reactord's own protocols (the table in registry.cpp).
const ProtocolRegistry& builtin_protocols();

}  // namespace reactord
