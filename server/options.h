// reactord's command line: every flag, its default, and strict parsing with clear errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reactor/io_backend.h"
#include "reactor/log.h"
#include "reactor/socket_address.h"

namespace reactord {

struct ListenSpec {
  std::string protocol;  // echo, upper, ...
  std::string text;      // as given
  reactor::SocketAddress address;
};

struct Options {
  std::vector<ListenSpec> listens;
  int threads = 0;  // 0 = one per allowed CPU
  bool pin = false;
  int backlog = 4096;
  int64_t max_conns = 0;  // 0 = unlimited
  double idle_timeout_s = 60;
  double drain_timeout_s = 10;
  uint64_t high_water = 1 << 20;
  uint64_t low_water = 256 << 10;
  bool linger_reset = false;
  reactor::BackendKind backend = reactor::BackendKind::kAuto;
  reactor::LogLevel log_level = reactor::LogLevel::kInfo;
};

struct ParseResult {
  enum Action { kRun, kExit } action = kRun;
  int exit_code = 0;    // for kExit: 0 after --help/--version, 2 for a usage error
  std::string message;  // printed to stdout (help/version) or stderr (error)
};

// Parses argv; fills defaults (echo on 127.0.0.1:7000, upper on 127.0.0.1:7001) when no
// --listen is given. `known_protocols` is the list accepted in --listen.
ParseResult parse_options(int argc, char** argv, const std::vector<std::string>& known_protocols,
                          Options* out);
std::string usage_text(const std::vector<std::string>& known_protocols);

}  // namespace reactord
