// The protocol table, and the registry that checks and looks up its entries.
//
// Adding a protocol: a file under server/protocols/ (or its own folder) with the handler and a
// `Protocol NAME_protocol()`, then its include and one line in builtin_protocols() below.
// --listen, --help, the config file, systemd's socket names and the server pick it up from here.
#include "server/protocols/registry.h"

#include <stdexcept>

#include "server/http_service/http_handler.h"
#include "server/protocols/echo.h"
#include "server/protocols/udp_echo.h"
#include "server/protocols/upper.h"

namespace reactord {

const ProtocolRegistry& builtin_protocols() {
  static const ProtocolRegistry kBuiltin = {
      echo_protocol(),
      upper_protocol(),
      http_protocol(),
      udp_echo_protocol(),
  };
  return kBuiltin;
}

ProtocolRegistry::ProtocolRegistry(std::initializer_list<Protocol> protocols) {
  for (const Protocol& p : protocols) add(p);
}

void ProtocolRegistry::add(Protocol p) {
  auto refuse = [&p](const std::string& why) {
    throw std::invalid_argument("protocol '" + p.name + "': " + why);
  };
  if (p.name.empty() || p.name.find_first_of("=| ") != std::string::npos)
    refuse("a name must be non-empty, without '=', '|' or spaces");
  if (find(p.name)) refuse("already registered");
  if (p.transport == Transport::kTcp && !p.make_handler)
    refuse("a TCP protocol needs make_handler");
  if (p.transport == Transport::kUdp && !p.make_datagram_service)
    refuse("a UDP protocol needs make_datagram_service");
  protocols_.push_back(std::move(p));
}

const Protocol* ProtocolRegistry::find(std::string_view name) const {
  for (const Protocol& p : protocols_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string ProtocolRegistry::names(std::string_view separator) const {
  std::string s;
  for (const Protocol& p : protocols_) {
    if (!s.empty()) s += separator;
    s += p.name;
  }
  return s;
}

}  // namespace reactord
