// An in-process server wired like server/server.cpp: one SO_REUSEPORT listener per loop and
// protocol on 127.0.0.1 port 0, a LoopGroup, and per-loop protocol handlers.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reactor/handler.h"
#include "reactor/loop_group.h"
#include "reactor/loop_stats.h"
#include "reactor/socket_address.h"

namespace rt {

class InProcessServer {
 public:
  struct Config {
    reactor::BackendKind backend = reactor::BackendKind::kEpoll;
    int threads = 2;
    reactor::LoopConfig loop;
    std::vector<std::string> protocols = {"echo", "upper"};
    // Optional: a handler for `proto` (default: EchoHandler / UpperHandler).
    std::function<std::unique_ptr<reactor::ConnectionHandler>(const std::string& proto)>
        make_handler;
    // Optional: called with each listening fd before the loops take it (e.g. SO_RCVBUF,
    // which accepted sockets inherit).
    std::function<void(int fd)> tune_listener;
  };
  enum class Start { kReady, kSkip, kFail };
  struct StartResult {
    Start kind = Start::kFail;
    std::string message;
  };

  InProcessServer() = default;
  ~InProcessServer() { stop(); }
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  StartResult start(const Config& config);
  void stop();  // aborts every connection and joins the loops; idempotent
  reactor::SocketAddress address(const std::string& proto) const;
  // Sum of one counter over every loop (loop stats are safe to read from any thread).
  uint64_t sum(reactor::Counter reactor::LoopStats::*counter);
  reactor::LoopGroup& group() { return group_; }

 private:
  bool started_ = false;
  reactor::LoopGroup group_;
  std::map<std::string, reactor::SocketAddress> addresses_;
  std::vector<std::pair<std::string, std::vector<int>>> fds_;  // proto -> fd per loop
  std::vector<std::vector<std::unique_ptr<reactor::ConnectionHandler>>> handlers_;
};

#define RT_START_INPROCESS(server, config)                                  \
  do {                                                                      \
    auto rt_start_result_ = (server).start(config);                         \
    if (rt_start_result_.kind == ::rt::InProcessServer::Start::kSkip)       \
      GTEST_SKIP() << rt_start_result_.message;                             \
    ASSERT_EQ(rt_start_result_.kind, ::rt::InProcessServer::Start::kReady)  \
        << "in-process server did not start: " << rt_start_result_.message; \
  } while (0)

}  // namespace rt
