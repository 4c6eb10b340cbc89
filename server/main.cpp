// reactord entry point: take systemd's sockets, read the config file and command line, run the
// server, map failures to exit codes (2 usage/configuration, 1 runtime).
#include <cstdio>
#include <exception>

#include "reactor/log.h"
#include "server/logging/log_sink.h"
#include "server/options.h"
#include "server/server.h"
#include "server/systemd.h"

int main(int argc, char** argv) {
  reactor::set_log_program("reactord");
  // Text until the options say otherwise: errors before that still get a level and a time.
  reactord::install_log_sink(reactord::stderr_log_style(reactord::LogFormat::kText));
  // First, while single-threaded: this unsets LISTEN_* in our environment.
  std::string activation_error;
  std::vector<reactord::ActivatedSocket> activated =
      reactord::take_activated_sockets(&activation_error);
  if (!activation_error.empty()) {
    REACTOR_LOG_ERROR("%s", activation_error.c_str());
    return 2;
  }

  reactord::ConfigSource source;
  for (int i = 1; i < argc; ++i) source.args.emplace_back(argv[i]);
  source.socket_activated = !activated.empty();
  reactord::Options options;
  reactord::ParseResult parsed = reactord::load_options(source, &options);
  if (parsed.action == reactord::ParseResult::kExit) {
    if (parsed.exit_code == 0) {
      printf("%s\n", parsed.message.c_str());
    } else {
      // One log line per error (a config file may have several); the logger names the program.
      std::string_view rest = parsed.message;
      while (!rest.empty()) {
        std::string_view why = rest.substr(0, rest.find('\n'));
        rest.remove_prefix(why.size() < rest.size() ? why.size() + 1 : why.size());
        if (why.starts_with("reactord: ")) why.remove_prefix(10);
        REACTOR_LOG_ERROR("%.*s", static_cast<int>(why.size()), why.data());
      }
    }
    return parsed.exit_code;
  }
  reactord::install_log_sink(reactord::stderr_log_style(options.log_format));
  // The socket's name selects its protocol (FileDescriptorName=, or --fdname= of
  // systemd-socket-activate): a wrong name is a configuration error, like a bad --listen.
  for (const auto& s : activated) {
    if (!source.protocols.find(s.name)) {
      REACTOR_LOG_ERROR(
          "socket activation: fd %d is named '%s', not a protocol (%s); set "
          "FileDescriptorName= in the .socket unit (systemd-socket-activate: --fdname=)",
          s.fd, s.name.c_str(), source.protocols.names().c_str());
      return 2;
    }
  }
  try {
    reactord::Server server(std::move(options), std::move(source), std::move(activated));
    return server.run();
  } catch (const std::exception& e) {
    REACTOR_LOG_ERROR("fatal: %s", e.what());
    return 1;
  }
}
