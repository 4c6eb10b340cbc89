// reactord entry point: parse the command line, run the server, map failures to exit codes.
#include <cstdio>
#include <exception>

#include "reactor/log.h"
#include "server/options.h"
#include "server/protocols/registry.h"
#include "server/server.h"

int main(int argc, char** argv) {
  reactord::Options options;
  reactord::ParseResult parsed =
      reactord::parse_options(argc, argv, reactord::protocol_names(), &options);
  if (parsed.action == reactord::ParseResult::kExit) {
    FILE* out = parsed.exit_code == 0 ? stdout : stderr;
    fprintf(out, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  try {
    reactord::Server server(std::move(options));
    return server.run();
  } catch (const std::exception& e) {
    LOG_ERROR("fatal: %s", e.what());
    return 1;
  }
}
