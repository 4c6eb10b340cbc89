// The reactord daemon: opens listeners, starts one loop per core, and drains on signals.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "reactor/handler.h"
#include "reactor/loop_group.h"
#include "server/http_service/http_stats.h"
#include "server/options.h"

namespace reactord {

// State shared by every loop of one server. Read-mostly; written by the main thread.
struct ServerState {
  Options options;
  reactor::LoopGroup group;
  std::atomic<int64_t> open_connections{0};
  std::atomic<bool> draining{false};
  HttpStatsRegistry http_stats;  // one HttpStats per loop serving http
};

// Thread affinity: run() is called once, from the main thread, which owns signal handling.
class Server {
 public:
  explicit Server(Options options);
  ~Server();
  // Blocks until shutdown. Returns the process exit code (0 after a clean drain, 1 when the
  // server could not start: address in use, permission denied, ...).
  int run();

 private:
  struct OpenListener {
    const ListenSpec* spec;
    std::vector<int> fds;  // one per loop (reuseport), or one for unix sockets
    reactor::SocketAddress bound;
  };
  bool open_listeners(int loops, std::string* error);
  void close_unclaimed();
  int wait_for_shutdown();

  std::unique_ptr<ServerState> state_;
  std::vector<OpenListener> listeners_;
  // handlers_[loop] owns that loop's protocol handlers; they outlive the loops.
  std::vector<std::vector<std::unique_ptr<reactor::ConnectionHandler>>> handlers_;
};

}  // namespace reactord
