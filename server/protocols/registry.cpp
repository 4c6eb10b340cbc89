// Protocol registry: maps --listen names to handler factories.
#include "server/protocols/registry.h"

#include "server/http_service/http_handler.h"
#include "server/protocols/echo.h"
#include "server/protocols/upper.h"

namespace reactord {

const std::vector<std::string>& protocol_names() {
  static const std::vector<std::string> kNames = {"echo", "upper", "http"};
  return kNames;
}

std::unique_ptr<reactor::ConnectionHandler> make_protocol_handler(const std::string& name,
                                                                  reactor::EventLoop& loop,
                                                                  ServerState& state) {
  if (name == "echo") return std::make_unique<EchoHandler>();
  if (name == "upper") return std::make_unique<UpperHandler>();
  if (name == "http") return std::make_unique<HttpHandler>(loop, state, HttpConfig{});
  return nullptr;
}

}  // namespace reactord
