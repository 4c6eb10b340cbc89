// The agent-check handler: answers on open, from the loop's memory use and the stop flag.
#include "server/protocols/agent.h"

#include <algorithm>
#include <atomic>

#include "reactor/connection.h"
#include "server/http_service/http_context.h"

namespace reactord {

std::string agent_line(bool stopping, uint64_t memory_used, uint64_t memory_budget) {
  if (stopping) return "drain\n";
  int weight = 100;
  if (memory_budget > 0) {
    double u = static_cast<double>(memory_used) / static_cast<double>(memory_budget);
    if (u > 0.5) weight = static_cast<int>(100 - (u - 0.5) * 180);
  }
  weight = std::clamp(weight, 10, 100);
  return "ready up " + std::to_string(weight) + "%\n";
}

namespace {

class AgentHandler final : public reactor::ConnectionHandler {
 public:
  explicit AgentHandler(const std::atomic<bool>* stopping) : stopping_(stopping) {}
  void on_open(reactor::Connection& c) override {
    reactor::EventLoop& loop = c.loop();
    c.send(agent_line(stopping_->load(std::memory_order_relaxed), loop.memory_used(),
                      loop.config().buffer_memory));
    c.close();
  }
  void on_data(reactor::Connection&, reactor::Buffer&&) override {}  // the agent asks nothing

 private:
  const std::atomic<bool>* stopping_;
};

}  // namespace

Protocol agent_protocol() {
  Protocol p = tcp_protocol("agent", "", [](reactor::EventLoop&, const ProtocolContext& ctx) {
    return std::make_unique<AgentHandler>(ctx.http.stopping ? ctx.http.stopping
                                                            : ctx.http.draining);
  });
  p.help =
      "agent answers HAProxy's agent check with one line per connection:\n"
      "ready up N% (N from the loop's memory use) or drain (SIGTERM)";
  return p;
}

}  // namespace reactord
