// A traffic pattern both the in-process and the process tests run: byte-exact streams through
// echo and upper while a crowd of other clients push data and reset (SO_LINGER {1,0}).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "reactor/socket_address.h"

namespace rt {

struct ResetStorm {
  int good = 4;                   // concurrent byte-exact transfers, alternating echo and upper
  int resetters = 60;             // clients that push, maybe read a little, then reset
  uint64_t good_bytes = 8 << 20;  // per transfer
  uint64_t seed = 1000;
};

// Runs the storm against the addresses `address("echo")` and `address("upper")` give, and joins
// every thread before it returns. One line per failure (a transfer that did not finish
// byte-exact, a client that could not connect); empty when all went well.
std::vector<std::string> run_reset_storm(
    const ResetStorm& storm,
    const std::function<reactor::SocketAddress(const std::string& proto)>& address);

}  // namespace rt
