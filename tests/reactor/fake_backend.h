// An in-memory IoBackend and the scripted "network" behind it: drives an EventLoop through the
// connection state machine with no sockets, no kernel and no sleeps. Time is a number the
// script moves; each script step runs at the start of one loop turn.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/src/io_backend.h"

namespace reactor_test {

// The far side of one connection, as the fake kernel sees it. Keyed by the fd the loop got.
struct FakeSocket {
  reactor::ConnectionId id;
  bool receiving = false;  // the loop asked for bytes (start_receive) and did not stop
  int receive_starts = 0;  // start_receive calls
  int receive_stops = 0;   // stop_receive calls
  std::string inbound;     // bytes the peer sent that the loop has not taken yet
  bool peer_fin = false;   // the peer's FIN, delivered once inbound is taken
  bool fin_delivered = false;
  std::string wire;          // bytes the loop sent, in order
  size_t window = SIZE_MAX;  // bytes the "kernel" still takes before it is full
  bool shut_wr = false;      // the loop sent its FIN
  bool reset = false;        // the loop closed with RST
  bool closed = false;       // the loop closed the descriptor
  int connect_pending = 0;   // client side: connect() issued, not yet completed
};

class FakeNet;

class FakeBackend final : public reactor::IoBackend {
 public:
  FakeBackend(reactor::LoopPort port, FakeNet& net) : port_(port), net_(net) {}
  reactor::BackendKind kind() const override { return reactor::BackendKind::kEpoll; }
  void start_accept(reactor::Listener& l) override;
  void stop_accept(reactor::Listener& l) override;
  void add_connection(reactor::Connection& c) override;
  void connect(reactor::Connection& c, const sockaddr* addr, socklen_t len) override;
  void start_receive(reactor::Connection& c) override;
  void stop_receive(reactor::Connection& c) override;
  void flush(reactor::Connection& c) override;
  int shutdown_write(reactor::Connection& c) override;
  void reset_on_close(reactor::Connection& c) override;
  void close(reactor::Connection& c) override;
  void watch(int, reactor::FdWatcher*) override {}
  void unwatch(int, reactor::FdWatcher*) override {}
  void poll(int timeout_ms) override;

  reactor::LoopPort& port() { return port_; }

 private:
  friend class FakeNet;
  void deliver(FakeSocket& s);

  reactor::LoopPort port_;
  FakeNet& net_;
};

// Thread affinity: the test's thread, which also runs the loop.
class FakeNet {
 public:
  FakeNet();
  ~FakeNet();
  FakeNet(const FakeNet&) = delete;
  FakeNet& operator=(const FakeNet&) = delete;

  // Hooks for EventLoop(config, hooks): this net's backend and clock.
  reactor::LoopHooks hooks();
  // A descriptor to hand to EventLoop::add_listener (an eventfd: never a socket).
  int new_listener_fd();

  // The script. Each step runs at the start of the next loop turn, after the clock moved by
  // `advance_ms` (timers then fire in that same turn). run() stops the loop after the last.
  void step(std::function<void()> fn, uint64_t advance_ms = 0);
  void wait(uint64_t ms) {
    step([] {}, ms);
  }
  void run(reactor::EventLoop& loop);

  // Events the peer or the kernel cause (call them from steps).
  int accept(size_t listener_index = 0);      // a client connects; returns the loop's fd
  void send(int fd, std::string_view bytes);  // the peer sends
  void fin(int fd);                           // the peer half-closes
  void fail(int fd, int err);                 // the socket errors (ECONNRESET, ...)
  void set_window(int fd, size_t bytes);      // the kernel takes this many more bytes
  void complete_connect(int fd, int err);     // client side
  // A receive the kernel completed before the loop's stop_receive took effect (an io_uring
  // multishot still in flight): the bytes, or the EOF, reach the loop even though it stopped.
  void receive_in_flight(int fd, std::string_view bytes);
  void eof_in_flight(int fd);

  FakeSocket& sock(int fd);
  const std::map<int, FakeSocket>& sockets() const { return sockets_; }
  uint64_t now_ms() const { return now_; }
  FakeBackend* backend() const { return backend_; }
  int accepting_listeners() const;

 private:
  friend class FakeBackend;
  reactor::Connection* conn(int fd);

  uint64_t now_;
  FakeBackend* backend_ = nullptr;
  std::map<int, FakeSocket> sockets_;
  std::vector<int> listener_fds_;
  std::map<int, bool> listening_;  // listener fd -> accepting
  struct Step {
    std::function<void()> fn;
    uint64_t advance_ms;
  };
  std::deque<Step> script_;
  reactor::EventLoop* loop_ = nullptr;
};

}  // namespace reactor_test
