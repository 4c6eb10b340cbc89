// The smallest reactor server: echo on one loop per core. Usage: minimal_echo [HOST:PORT]
#include <fcntl.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "reactor/connection.h"
#include "reactor/handler.h"
#include "reactor/listener.h"
#include "reactor/loop_group.h"

struct Echo : reactor::ConnectionHandler {
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override { c.send(std::move(data)); }
};

int main(int argc, char** argv) {
  reactor::SocketAddress addr;
  std::string error;
  int err = 0, fd = -1;
  if (reactor::SocketAddress::parse(argc > 1 ? argv[1] : "127.0.0.1:7000", &addr, &error))
    fd = reactor::open_listen_socket(addr, reactor::ListenOptions{}, &err, &error);
  if (fd < 0) return fprintf(stderr, "minimal_echo: %s\n", error.c_str()), 1;
  addr = reactor::bound_address(fd);  // with port 0: the port the kernel chose
  Echo echo;                          // stateless: one object serves every connection on every loop
  reactor::LoopGroup group;
  auto init = [&](reactor::EventLoop& loop, int i) {        // runs on loop i's thread
    int own = i == 0 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 0);  // all loops share one accept queue
    if (own < 0) throw std::runtime_error("cannot share the listening socket");
    loop.add_listener(own, &echo, "echo");
  };
  if (!group.start({}, init, &error))
    return fprintf(stderr, "minimal_echo: %s\n", error.c_str()), 1;
  printf("listening on %s (%s)\n", addr.to_string().c_str(), group.backend_name());
  fflush(stdout);
  group.join();  // the loops serve until the process is killed
}
