// reactord's settings: one table of keys shared by the command line and the config file,
// strict parsing with clear errors, and the merge (file first, the command line wins).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/backend_kind.h"
#include "reactor/log.h"
#include "reactor/socket_address.h"
#include "server/logging/log_format.h"
#include "server/protocols/registry.h"

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
  double drain_grace_s = 0;  // SIGTERM: not ready, yet serving, this long before the drain
  uint64_t high_water = 1 << 20;
  uint64_t low_water = 256 << 10;
  // Per-loop budget for queued and held bytes; the loop's own default (64 MiB).
  uint64_t buffer_memory = reactor::LoopConfig().buffer_memory;
  bool linger_reset = false;
  reactor::BackendKind backend = reactor::BackendKind::kAuto;
  reactor::LogLevel log_level = reactor::LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  std::string access_log;  // --access-log: a path, "-" for stdout, "" = off
  bool raise_nofile = true;  // RLIMIT_NOFILE soft limit raised to the hard limit at start
  // HTTP limits.
  int64_t max_header_bytes = 8192;  // request line + header fields, else 431
  uint64_t max_body = 1 << 20;      // request body, else 413
  double header_timeout_s = 10;     // total deadline for one request head, else 408
  // Listener tuning and access control.
  int defer_accept_s = 0;          // TCP_DEFER_ACCEPT (0 = off)
  int fastopen_queue = 0;          // TCP_FASTOPEN queue (0 = off)
  std::vector<std::string> allow;  // CIDRs; when any, a peer must match one
  std::vector<std::string> deny;   // CIDRs; a matching peer is reset at accept
  std::vector<std::string> proxy_from;  // CIDRs of balancers that must send a PROXY header

  // Not a setting: the config file these options were read from ("" = none), so that SIGHUP
  // knows what to re-read.
  std::string config_path;
};

// --buffer-memory below this would leave a loop unable to hold one request's worth of buffers.
inline constexpr uint64_t kMinBufferMemory = 1ull << 20;

struct ParseResult {
  enum Action { kRun, kExit } action = kRun;
  int exit_code = 0;    // for kExit: 0 after --help/--version, 2 for a usage error
  std::string message;  // printed to stdout (help/version) or stderr (error)
};

// What SIGHUP can do with a changed value.
enum class Reload {
  kLive,     // applied to the running server
  kRestart,  // needs a restart: logged, not applied
};

// One setting. The config-file key is `key`; the command-line flag is "--" + key. Adding a
// setting means adding one OptionDef to option_table() (and a field to Options): the command
// line, the config file, --help and the SIGHUP diff all come from the table.
struct OptionDef {
  std::string_view key;         // "idle-timeout"
  std::string_view value_name;  // "S" in --help; empty for a switch (a boolean in the file)
  Reload reload = Reload::kRestart;
  bool repeatable = false;  // each use adds a value; the command line replaces the file's
  std::string help;         // lines after the first are indented under it
  // Parses one value into *o. On failure *why says what is wrong with it (without the key).
  std::function<bool(std::string_view text, Options* o, std::string* why)> parse;
  // The current value as text: SIGHUP compares old and new with it and logs both.
  std::function<std::string(const Options& o)> show;
  // Copies this setting's value from one Options to another (SIGHUP applies only live keys).
  std::function<void(const Options& from, Options* to)> copy;
  // Repeatable keys: forgets the values given so far (the file's, once the CLI names the key).
  std::function<void(Options* o)> reset;
};

// Every setting, in --help order. `protocols` are what listen accepts (names, which of them
// take no unix: address, the default listeners); its help text lists them.
const std::vector<OptionDef>& option_table(const ProtocolRegistry& protocols);

// Where the settings come from: the config file, then the command line, which wins.
struct ConfigSource {
  std::vector<std::string> args;                     // argv[1..]
  ProtocolRegistry protocols = builtin_protocols();  // accepted in listen
  // Read when it exists and neither --config nor --no-config is given.
  std::string default_config_path = kDefaultConfigPath;
  // Listening sockets were passed by systemd: do not add the default listeners.
  bool socket_activated = false;

  static const char* const kDefaultConfigPath;
};

// Reads the config file (if any) and the command line into *out, which must hold defaults.
// Fills the default listeners (each protocol's default_address: echo on 127.0.0.1:7000, ...)
// when none is given and the server is not socket-activated. Errors name the flag, or the file,
// line and key.
ParseResult load_options(const ConfigSource& source, Options* out);

// The command line alone plus the default config file: load_options with argv.
ParseResult parse_options(int argc, char** argv, const ProtocolRegistry& protocols, Options* out);
std::string usage_text(const ProtocolRegistry& protocols);

}  // namespace reactord
