// The protocols reactord can serve, by name, and how to make a handler for a loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/handler.h"

namespace reactord {

struct ServerState;

// Names accepted by --listen PROTO=ADDR. udp-echo is served by UdpEchoService, not a handler.
const std::vector<std::string>& protocol_names();
// A handler for `name` serving connections on `loop` (one per protocol per loop, so a
// protocol may keep per-loop state without locks). nullptr for an unknown name.
std::unique_ptr<reactor::ConnectionHandler> make_protocol_handler(const std::string& name,
                                                                  reactor::EventLoop& loop,
                                                                  ServerState& state);

}  // namespace reactord
