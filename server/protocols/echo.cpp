// echo's registration: its name, default address and handler factory.
#include "server/protocols/echo.h"

namespace reactord {

Protocol echo_protocol() {
  return tcp_protocol("echo", "127.0.0.1:7000", plain_handler<EchoHandler>());
}

}  // namespace reactord
