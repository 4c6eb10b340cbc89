// Protocol registry: maps --listen names to handler factories.
#include "server/protocols/registry.h"

#include "server/protocols/echo.h"
#include "server/protocols/upper.h"

namespace reactord {

const std::vector<std::string>& protocol_names() {
  static const std::vector<std::string> kNames = {"echo", "upper"};
  return kNames;
}

std::unique_ptr<reactor::ConnectionHandler> make_protocol_handler(const std::string& name,
                                                                  reactor::EventLoop&,
                                                                  ServerState&) {
  if (name == "echo") return std::make_unique<EchoHandler>();
  if (name == "upper") return std::make_unique<UpperHandler>();
  return nullptr;
}

}  // namespace reactord
