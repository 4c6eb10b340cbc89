// Proxy example: a TCP forwarding proxy on one loop per core. Each accepted connection gets
// its own connection to the upstream, made by the same loop (EventLoop::connect). Usage:
//   tcp_proxy LISTEN_HOST:PORT UPSTREAM_HOST:PORT [--threads N] [--backend auto|epoll|io_uring]
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../common/serve.h"
#include "reactor/event_loop.h"
#include "reactor/loop_group.h"
#include "splice.h"

namespace {

struct Args {
  std::string listen;
  std::string upstream;
  reactor::LoopGroup::Options loops;
};

bool parse_args(int argc, char** argv, Args* a) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    if (examples::parse_loop_flag(argc, argv, &i, &a->loops)) continue;
    if (argv[i][0] == '-') return false;
    positional.push_back(argv[i]);
  }
  if (positional.size() != 2) return false;
  a->listen = positional[0];
  a->upstream = positional[1];
  return true;
}

// One pair of handlers per loop; they keep no per-connection state of their own.
struct LoopHandlers {
  proxy::UpstreamSide upstream;
  proxy::ClientSide client;
  explicit LoopHandlers(const reactor::SocketAddress& to) : client(to, upstream) {}
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  reactor::SocketAddress listen, upstream;
  std::string error;
  if (!parse_args(argc, argv, &args) ||
      !reactor::SocketAddress::parse(args.listen, &listen, &error) ||
      !reactor::SocketAddress::parse(args.upstream, &upstream, &error)) {
    fprintf(stderr,
            "usage: tcp_proxy LISTEN_HOST:PORT UPSTREAM_HOST:PORT [--threads N]\n"
            "                 [--backend auto|epoll|io_uring]\n%s\n",
            error.c_str());
    return 2;
  }
  reactor::LoopGroup group;
  std::vector<std::unique_ptr<LoopHandlers>> handlers(examples::loop_count(args.loops));
  auto handler_for = [&](reactor::EventLoop&, int i) {  // slot i is written by loop i only
    handlers[i] = std::make_unique<LoopHandlers>(upstream);
    return &handlers[i]->client;
  };
  return examples::serve("tcp_proxy", group, args.loops, listen, handler_for, 5000);
}
