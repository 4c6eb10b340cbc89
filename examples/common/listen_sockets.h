// Example helper: one listening socket per loop on one shared TCP port (SO_REUSEPORT), so the
// kernel spreads new connections across the loops; port 0 picks one free port for all of them.
#pragma once

#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "reactor/listener.h"
#include "reactor/socket_address.h"

namespace examples {

// Opens `count` sockets bound to `*addr` and sets addr's port to the one bound. Throws
// std::runtime_error naming the address when one cannot be opened (the others are closed).
inline std::vector<int> open_listen_sockets(reactor::SocketAddress* addr, size_t count) {
  if (addr->is_unix()) throw std::runtime_error(addr->to_string() + ": TCP addresses only");
  std::vector<int> fds;
  for (size_t i = 0; i < count; ++i) {
    int err = 0;
    std::string why;
    int fd = reactor::open_listen_socket(*addr, reactor::ListenOptions{}, &err, &why);
    if (fd < 0) {
      for (int f : fds) ::close(f);
      throw std::runtime_error("cannot listen on " + addr->to_string() + ": " + why);
    }
    if (i == 0) addr->set_port(reactor::bound_address(fd).port());
    fds.push_back(fd);
  }
  return fds;
}

}  // namespace examples
