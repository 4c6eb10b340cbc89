// reactord's settings table, value parsers, --help, and the merge of config file and CLI.
#include "server/options.h"

#include <sys/stat.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "reactor/access_list.h"
#include "reactor/number_text.h"
#include "server/build_info.h"
#include "server/config_file.h"

#ifndef REACTORD_DEFAULT_CONFIG_PATH
#define REACTORD_DEFAULT_CONFIG_PATH "/etc/reactord/reactord.toml"
#endif

namespace reactord {

const char* const ConfigSource::kDefaultConfigPath = REACTORD_DEFAULT_CONFIG_PATH;

namespace {

std::string join(const std::vector<std::string>& v, const char* sep = "|") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

using reactor::parse_bytes;
using reactor::parse_int;

// At most 2,000,000 s (23 days): the loop keeps per-connection activity times as 32-bit
// milliseconds, compared by difference, which holds for spans below 2^31 ms (24.8 days).
constexpr double kMaxSeconds = 2000000;
bool parse_seconds(std::string_view text, double* out) {
  return reactor::parse_double(text, 0, kMaxSeconds, out);
}

// 1048576 -> "1m": byte counts in messages as the user would write them.
std::string bytes_text(uint64_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + "m";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + "k";
  return std::to_string(n);
}

std::string show_seconds(double s) {
  char b[32];
  snprintf(b, sizeof b, "%g", s);
  return b;
}

// --- builders: one call per setting keeps option_table() one entry per key ---

OptionDef switch_opt(std::string_view key, Reload reload, bool Options::*field, std::string help) {
  OptionDef d;
  d.key = key;
  d.reload = reload;
  d.help = std::move(help);
  d.parse = [field](std::string_view text, Options* o, std::string* why) {
    if (text == "true" || text == "1") {
      o->*field = true;
    } else if (text == "false" || text == "0") {
      o->*field = false;
    } else {
      *why = quoted(text) + " is not true or false";
      return false;
    }
    return true;
  };
  d.show = [field](const Options& o) { return std::string(o.*field ? "true" : "false"); };
  d.copy = [field](const Options& from, Options* to) { to->*field = from.*field; };
  return d;
}

template <typename T>
OptionDef int_opt(std::string_view key, std::string_view value_name, Reload reload,
                  T Options::*field, int64_t lo, int64_t hi, std::string help) {
  OptionDef d;
  d.key = key;
  d.value_name = value_name;
  d.reload = reload;
  d.help = std::move(help);
  d.parse = [field, lo, hi](std::string_view text, Options* o, std::string* why) {
    int64_t n;
    if (!parse_int(text, lo, hi, &n)) {
      *why = quoted(text) + " is not a number in " + std::to_string(lo) + ".." + std::to_string(hi);
      return false;
    }
    o->*field = static_cast<T>(n);
    return true;
  };
  d.show = [field](const Options& o) { return std::to_string(o.*field); };
  d.copy = [field](const Options& from, Options* to) { to->*field = from.*field; };
  return d;
}

OptionDef seconds_opt(std::string_view key, Reload reload, double Options::*field,
                      std::string help) {
  OptionDef d;
  d.key = key;
  d.value_name = "S";
  d.reload = reload;
  d.help = std::move(help);
  d.parse = [field](std::string_view text, Options* o, std::string* why) {
    double v;
    if (!parse_seconds(text, &v)) {
      *why = quoted(text) + " is not a number of seconds from 0 to 2000000";
      return false;
    }
    // Timers count whole milliseconds: 0.0004 would round to 0, which means "off" (or "at
    // once" for the drain) - the opposite of a very short timeout. Refuse rather than guess.
    if (v > 0 && v < 0.001) {
      *why = quoted(text) + " is below the 1 ms resolution (use 0 or at least 0.001)";
      return false;
    }
    o->*field = v;
    return true;
  };
  d.show = [field](const Options& o) { return show_seconds(o.*field); };
  d.copy = [field](const Options& from, Options* to) { to->*field = from.*field; };
  return d;
}

OptionDef bytes_opt(std::string_view key, Reload reload, uint64_t Options::*field, uint64_t min,
                    std::string help) {
  OptionDef d;
  d.key = key;
  d.value_name = "BYTES";
  d.reload = reload;
  d.help = std::move(help);
  d.parse = [field, min](std::string_view text, Options* o, std::string* why) {
    uint64_t v;
    if (!parse_bytes(text, &v) || v < min) {
      *why = quoted(text) + " is not a byte count" +
             (min > 1    ? " >= " + bytes_text(min)
              : min == 1 ? " > 0"
                         : "") +
             " (suffixes k, m, g)";
      return false;
    }
    o->*field = v;
    return true;
  };
  d.show = [field](const Options& o) { return std::to_string(o.*field); };
  d.copy = [field](const Options& from, Options* to) { to->*field = from.*field; };
  return d;
}

// A repeatable list of CIDRs, validated when read so bad text is a start-up error.
OptionDef cidr_opt(std::string_view key, std::vector<std::string> Options::*field,
                   std::string help) {
  OptionDef d;
  d.key = key;
  d.value_name = "CIDR";
  d.reload = Reload::kRestart;
  d.repeatable = true;
  d.help = std::move(help);
  d.parse = [field](std::string_view text, Options* o, std::string* why) {
    reactor::AccessList::Rule rule;
    if (!reactor::AccessList::parse_cidr(text, &rule, why)) return false;
    (o->*field).push_back(std::string(text));
    return true;
  };
  d.show = [field](const Options& o) { return join(o.*field, ","); };
  d.copy = [field](const Options& from, Options* to) { to->*field = from.*field; };
  d.reset = [field](Options* o) { (o->*field).clear(); };
  return d;
}

// Greedy word wrap at `width` columns (the --help column is narrow).
std::string wrap(const std::string& text, size_t width) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return out + line;
}

// --listen: the names it accepts, what each needs and its help all come from the registry.
OptionDef listen_opt(const ProtocolRegistry& protos) {
  std::vector<std::string> udp, defaults;
  std::string notes;
  for (const Protocol& p : protos.all()) {
    if (p.transport == Transport::kUdp) udp.push_back(p.name);
    if (!p.default_address.empty()) defaults.push_back(p.name + "=" + p.default_address);
    if (!p.help.empty()) notes += p.help + "\n";
  }
  OptionDef listen;
  listen.key = "listen";
  listen.value_name = "PROTO=ADDR";
  listen.reload = Reload::kRestart;
  listen.repeatable = true;
  listen.help = "serve PROTO (" + protos.names() + ") on ADDR; repeatable.\n" +
                "ADDR is HOST:PORT, [IPV6]:PORT or unix:/path" +
                (udp.empty() ? "" : " (" + join(udp, ", ") + ": not unix)") + ".\n" + notes;
  if (!defaults.empty()) {
    std::string last = defaults.back();
    defaults.pop_back();
    listen.help +=
        wrap("Default: " + (defaults.empty() ? last : join(defaults, ", ") + " and " + last), 56) +
        "\n(none when systemd passes listening sockets)";
  }
  while (listen.help.ends_with('\n')) listen.help.pop_back();
  listen.parse = [protos](std::string_view value, Options* o, std::string* why) {
    size_t eq = value.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      *why = quoted(value) + ": want PROTO=ADDR, e.g. echo=127.0.0.1:7000";
      return false;
    }
    ListenSpec spec;
    spec.protocol = std::string(value.substr(0, eq));
    spec.text = std::string(value.substr(eq + 1));
    const Protocol* proto = protos.find(spec.protocol);
    if (!proto) {
      *why = "unknown protocol '" + spec.protocol + "' (known: " + protos.names() + ")";
      return false;
    }
    std::string err;
    if (!reactor::SocketAddress::parse(spec.text, &spec.address, &err)) {
      *why = spec.protocol + "=" + spec.text + ": " + err;
      return false;
    }
    // A usage error like any other bad address, caught here rather than at bind time.
    if (proto->transport == Transport::kUdp && spec.address.is_unix()) {
      *why = spec.protocol + "=" + spec.text + ": UDP needs HOST:PORT or [IPV6]:PORT, not unix:";
      return false;
    }
    o->listens.push_back(std::move(spec));
    return true;
  };
  listen.show = [](const Options& o) {
    std::vector<std::string> v;
    for (const auto& l : o.listens) v.push_back(l.protocol + "=" + l.text);
    return join(v, ",");
  };
  listen.copy = [](const Options& from, Options* to) { to->listens = from.listens; };
  listen.reset = [](Options* o) { o->listens.clear(); };
  return listen;
}

std::vector<OptionDef> build_table(const ProtocolRegistry& protos) {
  std::vector<OptionDef> t;
  t.push_back(listen_opt(protos));

  t.push_back(int_opt("threads", "N", Reload::kRestart, &Options::threads, 1, 1024,
                      "event loops (default: one per CPU in the affinity mask)"));
  t.push_back(
      switch_opt("pin", Reload::kRestart, &Options::pin, "pin loop i to the i-th allowed CPU"));

  OptionDef backend;
  backend.key = "backend";
  backend.value_name = "B";
  backend.reload = Reload::kRestart;
  backend.help = "auto|epoll|io_uring (default auto: io_uring if usable)";
  backend.parse = [](std::string_view text, Options* o, std::string* why) {
    if (!reactor::parse_backend_kind(std::string(text), &o->backend)) {
      *why = quoted(text) + " is not one of auto|epoll|io_uring";
      return false;
    }
    return true;
  };
  backend.show = [](const Options& o) {
    return std::string(reactor::backend_kind_name(o.backend));
  };
  backend.copy = [](const Options& from, Options* to) { to->backend = from.backend; };
  t.push_back(std::move(backend));

  t.push_back(int_opt("backlog", "N", Reload::kRestart, &Options::backlog, 1, 1 << 20,
                      "listen backlog (default 4096; the kernel caps it at\n"
                      "net.core.somaxconn, and reactord warns when it does)"));
  t.push_back(int_opt("max-conns", "N", Reload::kLive, &Options::max_conns, 0, 100000000,
                      "open connections at most; more are closed at once (0 = no limit)"));
  t.push_back(seconds_opt("idle-timeout", Reload::kLive, &Options::idle_timeout_s,
                          "close connections idle S seconds (default 60, 0 = off: never;\n"
                          "resolution 1 ms, so 0 < S < 0.001 is refused)"));
  t.push_back(seconds_opt("drain-timeout", Reload::kLive, &Options::drain_timeout_s,
                          "on SIGTERM/SIGINT, wait at most S seconds for connections to\n"
                          "finish before aborting them (default 10; 0 = abort whatever is\n"
                          "left at once; 0 < S < 0.001 is refused)"));
  t.push_back(seconds_opt("drain-grace", Reload::kLive, &Options::drain_grace_s,
                          "on SIGTERM/SIGINT, /ready and the agent check turn to draining at\n"
                          "once but everything is served as before for S seconds (so the\n"
                          "balancer stops sending new connections), then the drain begins\n"
                          "(default 0)"));
  t.push_back(bytes_opt("high-water", Reload::kLive, &Options::high_water, 1,
                        "stop reading from a peer whose unsent replies exceed this\n"
                        "(default 1MiB; suffixes k, m, g)"));
  t.push_back(bytes_opt("low-water", Reload::kLive, &Options::low_water, 0,
                        "resume reading below this (default 256KiB)"));
  t.push_back(bytes_opt("buffer-memory", Reload::kLive, &Options::buffer_memory, kMinBufferMemory,
                        "per-loop budget for queued and held bytes (write queues, kept\n"
                        "receive buffers, collected HTTP bodies). As it fills, the\n"
                        "connections holding the most stop being read; past it the worst\n"
                        "offender is closed (default 64MiB per loop, at least 1MiB)"));
  t.push_back(switch_opt("linger-reset", Reload::kLive, &Options::linger_reset,
                         "idle-timeout closes send RST (no TIME_WAIT on the server)"));

  OptionDef level;
  level.key = "log-level";
  level.value_name = "L";
  level.reload = Reload::kLive;
  level.help = "debug|info|warn|error (default info)";
  level.parse = [](std::string_view text, Options* o, std::string* why) {
    if (!reactor::parse_log_level(text, &o->log_level)) {
      *why = quoted(text) + " is not one of debug|info|warn|error";
      return false;
    }
    return true;
  };
  level.show = [](const Options& o) { return std::string(reactor::log_level_name(o.log_level)); };
  level.copy = [](const Options& from, Options* to) { to->log_level = from.log_level; };
  t.push_back(std::move(level));

  OptionDef format;
  format.key = "log-format";
  format.value_name = "F";
  format.help =
      "text|json (default text). Under systemd (JOURNAL_STREAM is stderr)\n"
      "each line starts with its journal priority <N>; otherwise with\n"
      "an RFC 3339 UTC timestamp";
  format.parse = [](std::string_view text, Options* o, std::string* why) {
    if (!parse_log_format(text, &o->log_format)) {
      *why = quoted(text) + " is not one of text|json";
      return false;
    }
    return true;
  };
  format.show = [](const Options& o) { return std::string(log_format_name(o.log_format)); };
  format.copy = [](const Options& from, Options* to) { to->log_format = from.log_format; };
  t.push_back(std::move(format));

  OptionDef access;
  access.key = "access-log";
  access.value_name = "PATH";
  access.help =
      "http: one line per response (time, client, method, target, status,\n"
      "bytes, microseconds) to PATH, or - for stdout (default: off).\n"
      "SIGUSR1 reopens PATH (logrotate's postrotate)";
  access.parse = [](std::string_view text, Options* o, std::string* why) {
    if (text.empty()) {
      *why = "want a file path or - (stdout)";
      return false;
    }
    o->access_log = std::string(text);
    return true;
  };
  access.show = [](const Options& o) { return o.access_log; };
  access.copy = [](const Options& from, Options* to) { to->access_log = from.access_log; };
  t.push_back(std::move(access));
  t.push_back(int_opt("max-header-bytes", "N", Reload::kRestart, &Options::max_header_bytes, 256,
                      16384,
                      "http: request line + headers above N bytes get 431 (default 8192;\n"
                      "at most 16384, one receive buffer: a head is parsed in place)"));
  t.push_back(bytes_opt("max-body", Reload::kRestart, &Options::max_body, 0,
                        "http: request bodies above this get 413 (default 1MiB)"));
  t.push_back(seconds_opt("header-timeout", Reload::kRestart, &Options::header_timeout_s,
                          "http: a request head must be complete within S seconds of its\n"
                          "first byte, else 408 and close (default 10, 0 = off;\n"
                          "0 < S < 0.001 is refused)"));
  t.push_back(int_opt("defer-accept", "S", Reload::kRestart, &Options::defer_accept_s, 0, 3600,
                      "TCP_DEFER_ACCEPT: hand over a connection only once it has data\n"
                      "(waits at most S seconds; default 0 = off)"));
  t.push_back(int_opt("fastopen", "QUEUE", Reload::kRestart, &Options::fastopen_queue, 0, 1 << 20,
                      "TCP_FASTOPEN with this many pending requests (default 0 = off)"));
  t.push_back(cidr_opt("allow", &Options::allow,
                       "admit only peers in CIDR (IPv4 or IPv6, e.g. 10.0.0.0/8); repeatable"));
  t.push_back(cidr_opt("deny", &Options::deny,
                       "reset peers in CIDR at accept; repeatable (deny wins over allow)"));
  t.push_back(cidr_opt("proxy-from", &Options::proxy_from,
                       "connections from CIDR (a load balancer) must begin with a PROXY\n"
                       "header (v1 or v2); its source then counts as the client for\n"
                       "--allow/--deny and logs; repeatable; --header-timeout bounds it"));
  t.push_back(switch_opt("raise-nofile", Reload::kRestart, &Options::raise_nofile,
                         "raise the open-files soft limit (RLIMIT_NOFILE) to the hard\n"
                         "limit at start (default true; --raise-nofile=false keeps it)"));
  return t;
}

const OptionDef* find_key(const std::vector<OptionDef>& table, std::string_view key) {
  for (const auto& d : table) {
    if (d.key == key) return &d;
  }
  return nullptr;
}

void add_default_listens(const ProtocolRegistry& protos, Options* o) {
  for (const Protocol& p : protos.all()) {
    if (p.default_address.empty()) continue;
    ListenSpec spec{p.name, p.default_address, {}};
    std::string err;
    reactor::SocketAddress::parse(spec.text, &spec.address, &err);
    o->listens.push_back(std::move(spec));
  }
}

// What build_table reads of a registry: tables are cached per distinct value of it.
std::string table_key(const ProtocolRegistry& protos) {
  std::string k;
  for (const Protocol& p : protos.all()) {
    k += p.name + '\0' + static_cast<char>(p.transport) + p.default_address + '\0' + p.help + '\0';
  }
  return k;
}

}  // namespace

const std::vector<OptionDef>& option_table(const ProtocolRegistry& protocols) {
  // Built once per protocol set (in practice there is one); the table never changes after.
  static std::vector<std::pair<std::string, std::unique_ptr<std::vector<OptionDef>>>> cache;
  const std::string key = table_key(protocols);
  for (const auto& [k, t] : cache) {
    if (k == key) return *t;
  }
  cache.emplace_back(key, std::make_unique<std::vector<OptionDef>>(build_table(protocols)));
  return *cache.back().second;
}

std::string usage_text(const ProtocolRegistry& protos) {
  std::string s =
      "usage: reactord [options]\n"
      "\n"
      "A per-core, shared-nothing TCP server. Every option is also a key of the TOML config\n"
      "file (--idle-timeout 5 is `idle-timeout = 5`); the command line overrides the file.\n"
      "\n";
  auto add = [&s](const std::string& left, const std::string& help) {
    constexpr size_t kColumn = 24;
    std::string line = "  " + left;
    line += line.size() < kColumn ? std::string(kColumn - line.size(), ' ') : "  ";
    size_t start = 0;
    for (;;) {
      size_t nl = help.find('\n', start);
      s += line + help.substr(start, nl == std::string::npos ? std::string::npos : nl - start) +
           "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
      line = std::string(kColumn, ' ');
    }
  };
  for (const OptionDef& d : option_table(protos)) {
    std::string left = "--" + std::string(d.key);
    if (!d.value_name.empty()) left += " " + std::string(d.value_name);
    add(left, d.help);
  }
  add("-c, --config FILE", std::string("read settings from FILE (TOML; default ") +
                               ConfigSource::kDefaultConfigPath + "\nwhen it exists)");
  add("--no-config", "do not read the default config file");
  add("-t, --check-config",
      "check the config file and command line, then exit (0 = valid;\n"
      "otherwise every error in the file, one FILE:LINE: key: reason each)");
  add("-h, --help", "this text");
  add("-v, --version", "version and build features (backends, liburing, systemd)");
  s += "\n"
       "Signals: SIGTERM/SIGINT drain gracefully (a second one stops at once); SIGHUP re-reads\n"
       "the config file and applies what can change live (the rest is logged as needing a\n"
       "restart).\n"
       "systemd: Type=notify (READY, STATUS, WATCHDOG, RELOADING, STOPPING) and socket\n"
       "activation (FileDescriptorName= selects the protocol).";
  return s;
}

ParseResult load_options(const ConfigSource& src, Options* out) {
  ParseResult r;
  auto fail = [&r](const std::string& msg) {
    r.action = ParseResult::kExit;
    r.exit_code = 2;
    r.message = "reactord: " + msg + " (see --help)";
    return r;
  };
  const std::vector<OptionDef>& table = option_table(src.protocols);

  // Pass 1: find the flags and their values, and --config; values are applied after the file.
  struct CliValue {
    const OptionDef* def;
    std::string value;
  };
  std::vector<CliValue> cli;
  std::string config_path;
  bool explicit_config = false;
  bool no_config = false;
  bool check_only = false;
  const auto& args = src.args;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view value;
    bool has_value = false;
    if (arg.starts_with("--")) {
      size_t eq = arg.find('=');
      if (eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_value = true;
      }
    }
    auto need = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= args.size()) return false;
      value = args[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      r.action = ParseResult::kExit;
      r.message = usage_text(src.protocols);
      return r;
    }
    if (arg == "--version" || arg == "-v") {
      r.action = ParseResult::kExit;
      r.message = version_text("reactord");
      return r;
    }
    if (arg == "--config" || arg == "-c") {
      if (!need()) return fail("--config needs a value");
      config_path = std::string(value);
      explicit_config = true;
      continue;
    }
    if (arg == "--no-config") {
      no_config = true;
      continue;
    }
    if (arg == "--check-config" || arg == "-t") {
      check_only = true;
      continue;
    }
    const OptionDef* def = arg.starts_with("--") ? find_key(table, arg.substr(2)) : nullptr;
    if (!def) return fail("unknown option '" + args[i] + "'");
    if (def->value_name.empty()) {
      cli.push_back({def, has_value ? std::string(value) : "true"});
      continue;
    }
    if (!need()) return fail(std::string(arg) + " needs a value");
    cli.push_back({def, std::string(value)});
  }

  // The file first, so that the command line overrides it.
  if (!explicit_config && !no_config) {
    // Present is enough: a default file that exists but cannot be read is an error (named by
    // read_config_file), not a silent "no config".
    struct stat st {};
    if (stat(src.default_config_path.c_str(), &st) == 0) config_path = src.default_config_path;
  }
  if (no_config && !explicit_config) config_path.clear();
  if (!config_path.empty()) {
    std::string error;
    if (!read_config_file(config_path, table, out, &error)) {
      // One line per error, each already naming the file, line and key.
      r.action = ParseResult::kExit;
      r.exit_code = 2;
      r.message = error;
      return r;
    }
  }
  out->config_path = config_path;

  // Then the command line. A repeatable key named here replaces the file's values.
  std::vector<const OptionDef*> reset_done;
  for (const CliValue& c : cli) {
    if (c.def->repeatable) {
      bool done = false;
      for (const OptionDef* d : reset_done) done |= (d == c.def);
      if (!done) {
        c.def->reset(out);
        reset_done.push_back(c.def);
      }
    }
    std::string why;
    if (!c.def->parse(c.value, out, &why)) return fail("--" + std::string(c.def->key) + ": " + why);
  }

  if (out->low_water >= out->high_water) return fail("--low-water must be below --high-water");
  if (out->listens.empty() && !src.socket_activated) add_default_listens(src.protocols, out);
  if (check_only) {
    r.action = ParseResult::kExit;
    r.message = "reactord: configuration OK (" +
                (config_path.empty() ? std::string("no config file") : config_path) + ")";
  }
  return r;
}

ParseResult parse_options(int argc, char** argv, const ProtocolRegistry& protos, Options* out) {
  ConfigSource src;
  for (int i = 1; i < argc; ++i) src.args.emplace_back(argv[i]);
  src.protocols = protos;
  return load_options(src, out);
}

}  // namespace reactord
