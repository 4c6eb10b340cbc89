// Protocol registry: maps --listen names to handler factories.
#include "server/protocols/registry.h"

#include "server/http_service/http_handler.h"
#include "server/protocols/echo.h"
#include "server/protocols/upper.h"
#include "server/server.h"

namespace reactord {

const std::vector<std::string>& protocol_names() {
  static const std::vector<std::string> kNames = {"echo", "upper", "http", "udp-echo"};
  return kNames;
}

std::unique_ptr<reactor::ConnectionHandler> make_protocol_handler(const std::string& name,
                                                                  reactor::EventLoop& loop,
                                                                  ServerState& state) {
  if (name == "echo") return std::make_unique<EchoHandler>();
  if (name == "upper") return std::make_unique<UpperHandler>();
  if (name == "http") {
    const Options& o = state.options;
    HttpConfig cfg;
    cfg.max_header_bytes = static_cast<size_t>(o.max_header_bytes);
    cfg.max_body = o.max_body;
    cfg.header_timeout_ms = static_cast<uint64_t>(o.header_timeout_s * 1000 + 0.5);
    return std::make_unique<HttpHandler>(loop, state, cfg);
  }
  return nullptr;
}

}  // namespace reactord
