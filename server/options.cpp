// Command-line parsing for reactord: --flag VALUE and --flag=VALUE, numbers checked strictly.
#include "server/options.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace reactord {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "|") + x;
  return s;
}

bool parse_int(std::string_view text, int64_t lo, int64_t hi, int64_t* out) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

bool parse_seconds(std::string_view text, double* out) {
  if (text.empty()) return false;
  std::string s(text);
  char* end = nullptr;
  double v = strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < 0 || v > 86400 * 365) return false;
  *out = v;
  return true;
}

// 1048576, 1024k, 1m, 1MiB ...
bool parse_bytes(std::string_view text, uint64_t* out) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  int64_t v;
  if (!parse_int(text.substr(0, i), 0, INT64_MAX / (1 << 30), &v)) return false;
  std::string_view unit = text.substr(i);
  uint64_t mul = 1;
  if (unit.empty() || unit == "b" || unit == "B")
    mul = 1;
  else if (unit == "k" || unit == "K" || unit == "KiB")
    mul = 1024;
  else if (unit == "m" || unit == "M" || unit == "MiB")
    mul = 1024 * 1024;
  else if (unit == "g" || unit == "G" || unit == "GiB")
    mul = 1024ull * 1024 * 1024;
  else
    return false;
  *out = static_cast<uint64_t>(v) * mul;
  return true;
}

}  // namespace

std::string usage_text(const std::vector<std::string>& protos) {
  return "usage: reactord [options]\n"
         "\n"
         "A per-core, shared-nothing TCP server.\n"
         "\n"
         "  --listen PROTO=ADDR   serve PROTO (" +
         join(protos) +
         ") on ADDR; repeatable.\n"
         "                        ADDR is HOST:PORT, [IPV6]:PORT or unix:/path.\n"
         "                        Default: echo=127.0.0.1:7000 and upper=127.0.0.1:7001\n"
         "  --threads N           event loops (default: one per CPU in the affinity mask)\n"
         "  --pin                 pin loop i to the i-th allowed CPU\n"
         "  --backend B           auto|epoll|io_uring (default auto: io_uring if usable)\n"
         "  --backlog N           listen backlog (default 4096; the kernel caps it at\n"
         "                        net.core.somaxconn, and reactord warns when it does)\n"
         "  --max-conns N         open connections at most; more are closed at once (0 = no "
         "limit)\n"
         "  --idle-timeout S      close connections idle S seconds (default 60, 0 = never)\n"
         "  --drain-timeout S     on SIGTERM/SIGINT, wait at most S seconds for connections to\n"
         "                        finish before aborting them (default 10)\n"
         "  --high-water BYTES    stop reading from a peer whose unsent replies exceed this\n"
         "                        (default 1MiB; suffixes k, m, g)\n"
         "  --low-water BYTES     resume reading below this (default 256KiB)\n"
         "  --linger-reset        idle-timeout closes send RST (no TIME_WAIT on the server)\n"
         "  --log-level L         debug|info|warn|error (default info)\n"
         "  --help                this text\n"
         "  --version             version\n"
         "\n"
         "Signals: SIGTERM/SIGINT drain gracefully (a second one stops at once).\n";
}

ParseResult parse_options(int argc, char** argv, const std::vector<std::string>& protos,
                          Options* out) {
  ParseResult r;
  auto fail = [&r](const std::string& msg) {
    r.action = ParseResult::kExit;
    r.exit_code = 2;
    r.message = "reactord: " + msg + " (see --help)";
    return r;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
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
    auto need = [&](std::string_view flag) -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      (void)flag;
      return true;
    };
    std::string flag(arg);
    if (arg == "--help" || arg == "-h") {
      r.action = ParseResult::kExit;
      r.message = usage_text(protos);
      return r;
    }
    if (arg == "--version") {
      r.action = ParseResult::kExit;
      r.message = "reactord 0.1.0";
      return r;
    }
    if (arg == "--pin") {
      out->pin = true;
      continue;
    }
    if (arg == "--linger-reset") {
      out->linger_reset = true;
      continue;
    }
    static const char* kValued[] = {
        "--listen",        "--threads",   "--backlog", "--max-conns",  "--idle-timeout",
        "--drain-timeout", "--log-level", "--backend", "--high-water", "--low-water"};
    bool known = false;
    for (const char* k : kValued) known |= (arg == k);
    if (!known) return fail("unknown option '" + std::string(argv[i]) + "'");
    if (!need(arg)) return fail(flag + " needs a value");
    int64_t n;
    if (arg == "--listen") {
      size_t eq = value.find('=');
      if (eq == std::string_view::npos || eq == 0)
        return fail("--listen '" + std::string(value) +
                    "': want PROTO=ADDR, e.g. echo=127.0.0.1:7000");
      ListenSpec spec;
      spec.protocol = std::string(value.substr(0, eq));
      spec.text = std::string(value.substr(eq + 1));
      bool proto_ok = false;
      for (const auto& p : protos) proto_ok |= (p == spec.protocol);
      if (!proto_ok)
        return fail("--listen: unknown protocol '" + spec.protocol + "' (known: " + join(protos) +
                    ")");
      std::string err;
      if (!reactor::SocketAddress::parse(spec.text, &spec.address, &err))
        return fail("--listen " + spec.protocol + "=" + spec.text + ": " + err);
      out->listens.push_back(std::move(spec));
    } else if (arg == "--threads") {
      if (!parse_int(value, 1, 1024, &n))
        return fail("--threads: '" + std::string(value) + "' is not a number in 1..1024");
      out->threads = static_cast<int>(n);
    } else if (arg == "--backlog") {
      if (!parse_int(value, 1, 1 << 20, &n))
        return fail("--backlog: '" + std::string(value) + "' is not a number in 1..1048576");
      out->backlog = static_cast<int>(n);
    } else if (arg == "--max-conns") {
      if (!parse_int(value, 0, 100000000, &n))
        return fail("--max-conns: '" + std::string(value) + "' is not a number >= 0");
      out->max_conns = n;
    } else if (arg == "--idle-timeout") {
      if (!parse_seconds(value, &out->idle_timeout_s))
        return fail("--idle-timeout: '" + std::string(value) + "' is not a number of seconds >= 0");
    } else if (arg == "--drain-timeout") {
      if (!parse_seconds(value, &out->drain_timeout_s))
        return fail("--drain-timeout: '" + std::string(value) +
                    "' is not a number of seconds >= 0");
    } else if (arg == "--high-water") {
      if (!parse_bytes(value, &out->high_water) || out->high_water == 0)
        return fail("--high-water: '" + std::string(value) + "' is not a byte count > 0");
    } else if (arg == "--low-water") {
      if (!parse_bytes(value, &out->low_water))
        return fail("--low-water: '" + std::string(value) + "' is not a byte count");
    } else if (arg == "--log-level") {
      if (!reactor::parse_log_level(value, &out->log_level))
        return fail("--log-level: '" + std::string(value) +
                    "' is not one of debug|info|warn|error");
    } else if (arg == "--backend") {
      if (!reactor::parse_backend_kind(std::string(value), &out->backend))
        return fail("--backend: '" + std::string(value) + "' is not one of auto|epoll|io_uring");
    }
  }
  if (out->low_water >= out->high_water) return fail("--low-water must be below --high-water");
  if (out->listens.empty()) {
    std::string err;
    ListenSpec echo{"echo", "127.0.0.1:7000", {}};
    reactor::SocketAddress::parse(echo.text, &echo.address, &err);
    ListenSpec upper{"upper", "127.0.0.1:7001", {}};
    reactor::SocketAddress::parse(upper.text, &upper.address, &err);
    out->listens.push_back(echo);
    out->listens.push_back(upper);
  }
  return r;
}

}  // namespace reactord
