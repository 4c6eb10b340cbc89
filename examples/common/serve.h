// Example helper: the embedder's main loop shared by the examples. Parses the loop flags,
// opens one listening socket per loop, starts the LoopGroup, serves until SIGINT/SIGTERM,
// then drains.
#pragma once

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "listen_sockets.h"
#include "reactor/event_loop.h"
#include "reactor/handler.h"
#include "reactor/loop_group.h"

namespace examples {

// Takes argv[*i] if it is --threads N or --backend auto|epoll|io_uring (advancing *i past the
// value); false for anything else.
inline bool parse_loop_flag(int argc, char** argv, int* i, reactor::LoopGroup::Options* o) {
  std::string arg = argv[*i];
  if (*i + 1 >= argc) return false;
  if (arg == "--threads") {
    o->threads = atoi(argv[++*i]);
    return o->threads >= 0;
  }
  if (arg == "--backend") return reactor::parse_backend_kind(argv[++*i], &o->loop.backend);
  return false;
}

// The number of loops `o` asks for: --threads, or one per CPU this process may run on.
inline size_t loop_count(const reactor::LoopGroup::Options& o) {
  return o.threads > 0 ? static_cast<size_t>(o.threads) : reactor::allowed_cpus().size();
}

// Calls handler_for(loop, i) on loop i's thread, before it runs; the handler it returns serves
// that loop's listener and must outlive the group.
using HandlerFor = std::function<reactor::ConnectionHandler*(reactor::EventLoop&, int)>;

// Listens on `addr` (one SO_REUSEPORT socket per loop), starts `group`, prints
// "listening on HOST:PORT (BACKEND)" on stdout once every loop runs, and serves until SIGINT
// or SIGTERM; then every loop drains: listeners close, each connection gets on_drain and
// `drain_ms` to finish, the rest are aborted. Returns main's exit code.
inline int serve(const char* program, reactor::LoopGroup& group, reactor::LoopGroup::Options o,
                 reactor::SocketAddress addr, const HandlerFor& handler_for, uint64_t drain_ms) {
  // Blocked before the loop threads exist, so they inherit the mask and only sigwait below
  // takes the signals; SIGPIPE is ignored so a peer gone mid-write cannot kill the process.
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  o.threads = static_cast<int>(loop_count(o));
  std::vector<int> fds;
  std::string error;
  try {
    fds = open_listen_sockets(&addr, static_cast<size_t>(o.threads));
  } catch (const std::exception& e) {
    fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  auto init = [&](reactor::EventLoop& loop, int i) {
    loop.add_listener(fds[i], handler_for(loop, i), program);
  };
  if (!group.start(o, init, &error)) {
    fprintf(stderr, "%s: %s\n", program, error.c_str());
    return 1;
  }
  printf("listening on %s (%s)\n", addr.to_string().c_str(), group.backend_name());
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  group.drain(drain_ms);
  group.join();
  return 0;
}

}  // namespace examples
