// The protocol table, and the registry that checks and looks up its entries.
//
// Adding a protocol: a .cpp under server/protocols/ with the handler and a
// `Protocol NAME_protocol()`, and one line in builtin.def. --listen, --help, the config file,
// systemd's socket names and the server pick it up from here.
#include "server/protocols/registry.h"

#include <stdexcept>

namespace reactord {

#define REACTORD_PROTOCOL(name) Protocol name##_protocol();
#include "server/protocols/builtin.def"
#undef REACTORD_PROTOCOL

const ProtocolRegistry& builtin_protocols() {
  static const ProtocolRegistry kBuiltin = {
#define REACTORD_PROTOCOL(name) name##_protocol(),
#include "server/protocols/builtin.def"
#undef REACTORD_PROTOCOL
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
