// agent: HAProxy's agent-check responder (--listen agent=ADDR). Each connection gets one line
// and is closed: how this server steers the balancer's traffic to itself.
#pragma once

#include <cstdint>
#include <string>

#include "server/protocols/protocol.h"

namespace reactord {

// The line, from the answering loop's state:
//   "drain\n"          once shutdown began (SIGTERM; also during --drain-grace): the balancer
//                      sends no new connections and lets the open ones finish
//   "ready up N%\n"    otherwise, N from the loop's --buffer-memory budget in use, u:
//                      100 while u <= 50%, then down linearly to 10 at u = 100% (a loop whose
//                      queues fill is a loop whose clients read slower than it writes; fewer
//                      new ones help it). "ready" also lifts a drain set by an earlier answer.
std::string agent_line(bool stopping, uint64_t memory_used, uint64_t memory_budget);

Protocol agent_protocol();  // registered in builtin.def

}  // namespace reactord
