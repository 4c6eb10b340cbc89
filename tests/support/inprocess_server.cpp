#include "tests/support/inprocess_server.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "reactor/listener.h"
#include "server/protocols/echo.h"
#include "server/protocols/upper.h"
#include "tests/support/net.h"
#include "tests/support/process.h"

namespace rt {

InProcessServer::StartResult InProcessServer::start(const Config& cfg) {
  StartResult r;
  if (cfg.backend == reactor::BackendKind::kIoUring && !reactor::io_uring_compiled_in()) {
    r.kind = Start::kSkip;
    r.message = "io_uring backend not compiled in (REACTORD_IO_URING=OFF or no liburing)";
    return r;
  }
  const int loops = cfg.threads;
  reactor::ListenOptions lo;
  lo.backlog = 4096;
  lo.reuse_port = true;
  for (const std::string& proto : cfg.protocols) {
    std::vector<int> fds;
    reactor::SocketAddress addr = loopback4(0);
    for (int i = 0; i < loops; ++i) {
      int err = 0;
      std::string detail;
      int fd = reactor::open_listen_socket(addr, lo, &err, &detail);
      if (fd < 0) {
        for (int f : fds) ::close(f);
        r.message = "open_listen_socket(" + addr.to_string() + "): " + detail;
        return r;
      }
      if (cfg.tune_listener) cfg.tune_listener(fd);
      if (i == 0) {
        addr = reactor::bound_address(fd);
        addresses_[proto] = addr;  // port 0: the other loops join the chosen port
      }
      fds.push_back(fd);
    }
    fds_.emplace_back(proto, std::move(fds));
  }
  handlers_.resize(loops);
  reactor::LoopGroup::Options go;
  go.threads = loops;
  go.loop = cfg.loop;
  go.loop.backend = cfg.backend;
  auto init = [this, &cfg](reactor::EventLoop& loop, int index) {
    for (auto& [proto, fds] : fds_) {
      std::unique_ptr<reactor::ConnectionHandler> h;
      if (cfg.make_handler) h = cfg.make_handler(proto);
      if (!h && proto == "echo") h = std::make_unique<reactord::EchoHandler>();
      if (!h && proto == "upper") h = std::make_unique<reactord::UpperHandler>();
      if (!h) throw std::runtime_error("no handler for protocol " + proto);
      loop.add_listener(fds[index], h.get(), proto);
      fds[index] = -1;  // the loop owns it now
      handlers_[index].push_back(std::move(h));
    }
  };
  std::string error;
  if (!group_.start(go, init, &error)) {
    for (auto& [proto, fds] : fds_) {
      for (int& f : fds) {
        if (f >= 0) ::close(f);
        f = -1;
      }
    }
    if (cfg.backend == reactor::BackendKind::kIoUring && says_io_uring_unavailable(error)) {
      r.kind = Start::kSkip;
      r.message = error;
    } else {
      r.message = error;
    }
    return r;
  }
  started_ = true;
  // Ready means every loop is inside run(): each has run a posted task. (Stopping a group whose
  // loops had not all seen start()'s "go" used to deadlock join(); loop_group_test covers it.)
  std::atomic<int> ran{0};
  for (size_t i = 0; i < group_.size(); ++i)
    group_.loop(i).post([&ran](reactor::EventLoop&) { ran.fetch_add(1); });
  if (!wait_until([&] { return ran.load() == static_cast<int>(group_.size()); }, 30000)) {
    r.message = "the loops did not start running";
    return r;
  }
  r.kind = Start::kReady;
  return r;
}

void InProcessServer::stop() {
  if (started_) {
    group_.stop();
    group_.join();
    started_ = false;
  }
  for (auto& [proto, fds] : fds_) {
    for (int& f : fds) {
      if (f >= 0) ::close(f);
      f = -1;
    }
  }
  handlers_.clear();  // after the loops: they reference the handlers until joined
}

reactor::SocketAddress InProcessServer::address(const std::string& proto) const {
  auto it = addresses_.find(proto);
  if (it == addresses_.end()) {
    fprintf(stderr, "test support: no in-process listener for '%s'\n", proto.c_str());
    abort();
  }
  return it->second;
}

uint64_t InProcessServer::sum(reactor::Counter reactor::LoopStats::*counter) {
  uint64_t total = 0;
  for (size_t i = 0; i < group_.size(); ++i) total += (group_.loop(i).stats().*counter).get();
  return total;
}

}  // namespace rt
