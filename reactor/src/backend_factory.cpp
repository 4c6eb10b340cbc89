// Picks the I/O backend at run time: io_uring when built in and usable, else epoll.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "reactor/connection.h"
#include "reactor/event_loop.h"
#include "reactor/src/epoll_backend.h"
#include "reactor/src/io_backend.h"
#ifdef REACTOR_HAVE_URING
#include "reactor/src/uring_backend.h"
#endif

namespace reactor {

const char* backend_kind_name(BackendKind k) {
  switch (k) {
    case BackendKind::kAuto:
      return "auto";
    case BackendKind::kEpoll:
      return "epoll";
    case BackendKind::kIoUring:
      return "io_uring";
  }
  return "?";
}

bool parse_backend_kind(const std::string& text, BackendKind* out) {
  if (text == "auto")
    *out = BackendKind::kAuto;
  else if (text == "epoll")
    *out = BackendKind::kEpoll;
  else if (text == "io_uring" || text == "iouring" || text == "uring")
    *out = BackendKind::kIoUring;
  else
    return false;
  return true;
}

bool io_uring_compiled_in() {
#ifdef REACTOR_HAVE_URING
  return true;
#else
  return false;
#endif
}

int IoBackend::shutdown_write(Connection& c) {
  return ::shutdown(c.fd(), SHUT_WR) == 0 ? 0 : errno;
}

void IoBackend::reset_on_close(Connection& c) {
  linger lg{1, 0};
  setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

std::unique_ptr<IoBackend> make_backend(BackendKind kind, LoopPort loop, std::string* error,
                                        std::string* note) {
  if (kind == BackendKind::kEpoll) return std::make_unique<EpollBackend>(loop);
#ifdef REACTOR_HAVE_URING
  std::string why;
  if (auto b = UringBackend::create(loop, &why)) return b;
  if (kind == BackendKind::kIoUring) {
    *error = "io_uring backend unavailable: " + why;
    return nullptr;
  }
  *note = "io_uring unavailable (" + why + "); using epoll";
#else
  if (kind == BackendKind::kIoUring) {
    *error = "io_uring backend unavailable: built without liburing (REACTORD_IO_URING=OFF)";
    return nullptr;
  }
  *note = "built without liburing; using epoll";
#endif
  return std::make_unique<EpollBackend>(loop);
}

}  // namespace reactor
