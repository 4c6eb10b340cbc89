// reactord command-line parsing (server/options.h): every flag, the defaults, and exit code 2
// with a message naming the flag for bad input. Hermetic: the default config file path points
// into an empty temp directory, so a file installed on the machine cannot interfere.
#include "server/options.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/net.h"

namespace {

using reactord::Options;
using reactord::ParseResult;

const reactord::ProtocolRegistry& kProtos = reactord::builtin_protocols();

ParseResult parse(std::vector<std::string> args, Options* out,
                  const std::string& default_config = "") {
  static rt::TempDir empty;
  reactord::ConfigSource src;
  src.args = std::move(args);
  src.protocols = kProtos;
  src.default_config_path =
      default_config.empty() ? empty.file("no-such-reactord.toml") : default_config;
  return reactord::load_options(src, out);
}

Options parse_ok(std::vector<std::string> args) {
  Options o;
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  ParseResult r = parse(args, &o);
  EXPECT_EQ(r.action, ParseResult::kRun) << joined << "-> " << r.message;
  return o;
}

// Expects a usage error (exit 2) whose message contains every string in `mentions`.
void expect_usage_error(std::vector<std::string> args, std::vector<std::string> mentions) {
  Options o;
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  ParseResult r = parse(args, &o);
  EXPECT_EQ(r.action, ParseResult::kExit) << joined;
  EXPECT_EQ(r.exit_code, 2) << joined << "-> " << r.message;
  for (const auto& m : mentions)
    EXPECT_NE(r.message.find(m), std::string::npos)
        << joined << "-> message '" << r.message << "' does not mention '" << m << "'";
}

TEST(Options, Defaults) {
  Options o = parse_ok({});
  // echo on 127.0.0.1:7000 and upper on 127.0.0.1:7001 first; any other default listener
  // (http was added later) must also be loopback-only.
  ASSERT_GE(o.listens.size(), 2u);
  EXPECT_EQ(o.listens[0].protocol, "echo");
  EXPECT_EQ(o.listens[0].address.to_string(), "127.0.0.1:7000");
  EXPECT_EQ(o.listens[1].protocol, "upper");
  EXPECT_EQ(o.listens[1].address.to_string(), "127.0.0.1:7001");
  for (const auto& l : o.listens)
    EXPECT_EQ(l.address.to_string().rfind("127.0.0.1:", 0), 0u) << l.protocol << " " << l.text;
  EXPECT_EQ(o.threads, 0);
  EXPECT_FALSE(o.pin);
  EXPECT_EQ(o.backlog, 4096);
  EXPECT_EQ(o.max_conns, 0);
  EXPECT_DOUBLE_EQ(o.idle_timeout_s, 60);
  EXPECT_DOUBLE_EQ(o.drain_timeout_s, 10);
  EXPECT_EQ(o.high_water, 1u << 20);
  EXPECT_EQ(o.low_water, 256u << 10);
  EXPECT_FALSE(o.linger_reset);
  EXPECT_EQ(o.backend, reactor::BackendKind::kAuto);
  EXPECT_EQ(o.log_level, reactor::LogLevel::kInfo);
  EXPECT_TRUE(o.raise_nofile);
  EXPECT_EQ(o.config_path, "");
}

TEST(Options, Listen) {
  Options o = parse_ok({"--listen", "echo=127.0.0.1:0"});
  ASSERT_EQ(o.listens.size(), 1u);  // an explicit --listen replaces the defaults
  EXPECT_EQ(o.listens[0].protocol, "echo");
  EXPECT_EQ(o.listens[0].text, "127.0.0.1:0");
  EXPECT_EQ(o.listens[0].address.port(), 0);

  o = parse_ok({"--listen=upper=[::1]:9000", "--listen", "echo=unix:/tmp/e.sock", "--listen",
                "echo=0.0.0.0:7"});
  ASSERT_EQ(o.listens.size(), 3u);
  EXPECT_EQ(o.listens[0].protocol, "upper");
  EXPECT_EQ(o.listens[0].address.to_string(), "[::1]:9000");
  EXPECT_EQ(o.listens[1].address.to_string(), "unix:/tmp/e.sock");
  EXPECT_EQ(o.listens[2].address.to_string(), "0.0.0.0:7");
}

TEST(Options, ListenErrors) {
  expect_usage_error({"--listen", "echo"}, {"--listen", "PROTO=ADDR"});
  expect_usage_error({"--listen", "=127.0.0.1:1"}, {"--listen"});
  expect_usage_error({"--listen", "gopher=127.0.0.1:1"}, {"--listen", "gopher", "echo|upper"});
  expect_usage_error({"--listen", "echo=127.0.0.1:99999"}, {"--listen", "port"});
  expect_usage_error({"--listen", "echo=nowhere"}, {"--listen", "nowhere"});
  expect_usage_error({"--listen", "echo=example.com:80"}, {"--listen", "example.com"});
  expect_usage_error({"--listen", "echo=unix:"}, {"--listen"});
  expect_usage_error({"--listen"}, {"--listen", "needs a value"});
}

TEST(Options, Threads) {
  EXPECT_EQ(parse_ok({"--threads", "4"}).threads, 4);
  EXPECT_EQ(parse_ok({"--threads=1"}).threads, 1);
  EXPECT_EQ(parse_ok({"--threads", "1024"}).threads, 1024);
  for (const char* bad : {"0", "1025", "-1", "abc", "4x", "", " 4", "1.5"})
    expect_usage_error({"--threads", bad}, {"--threads"});
  expect_usage_error({"--threads"}, {"--threads", "needs a value"});
}

TEST(Options, Pin) {
  EXPECT_TRUE(parse_ok({"--pin"}).pin);
}

TEST(Options, SwitchesTakeOptionalBooleans) {
  EXPECT_TRUE(parse_ok({"--pin=true"}).pin);
  EXPECT_TRUE(parse_ok({"--pin=1"}).pin);
  EXPECT_FALSE(parse_ok({"--pin=false"}).pin);
  EXPECT_FALSE(parse_ok({"--pin", "--pin=0"}).pin);
  EXPECT_FALSE(parse_ok({"--raise-nofile=false"}).raise_nofile);
  EXPECT_TRUE(parse_ok({"--raise-nofile"}).raise_nofile);
  EXPECT_FALSE(parse_ok({"--linger-reset=false"}).linger_reset);
  expect_usage_error({"--pin=maybe"}, {"--pin", "maybe"});
  expect_usage_error({"--linger-reset=yes"}, {"--linger-reset"});
  expect_usage_error({"--raise-nofile="}, {"--raise-nofile"});
}

TEST(Options, Backlog) {
  EXPECT_EQ(parse_ok({"--backlog", "128"}).backlog, 128);
  EXPECT_EQ(parse_ok({"--backlog=1048576"}).backlog, 1 << 20);
  for (const char* bad : {"0", "-5", "1048577", "lots"})
    expect_usage_error({"--backlog", bad}, {"--backlog"});
}

TEST(Options, MaxConns) {
  EXPECT_EQ(parse_ok({"--max-conns", "10"}).max_conns, 10);
  EXPECT_EQ(parse_ok({"--max-conns", "0"}).max_conns, 0);
  for (const char* bad : {"-1", "ten", "100000001"})
    expect_usage_error({"--max-conns", bad}, {"--max-conns"});
}

TEST(Options, IdleAndDrainTimeouts) {
  EXPECT_DOUBLE_EQ(parse_ok({"--idle-timeout", "1.5"}).idle_timeout_s, 1.5);
  EXPECT_DOUBLE_EQ(parse_ok({"--idle-timeout", "0"}).idle_timeout_s, 0);
  EXPECT_DOUBLE_EQ(parse_ok({"--drain-timeout=3"}).drain_timeout_s, 3);
  EXPECT_DOUBLE_EQ(parse_ok({"--drain-timeout", "0.25"}).drain_timeout_s, 0.25);
  for (const char* flag : {"--idle-timeout", "--drain-timeout"}) {
    for (const char* bad : {"-1", "soon", "nan", "inf", "1s", "", "1e400"})
      expect_usage_error({flag, bad}, {flag});
  }
}

// Timers count whole milliseconds: a positive value below 1 ms would round to 0, which means
// "off" (idle, header) or "at once" (drain). Refused, naming the flag; the file says the same.
// Activity times are 32-bit milliseconds in the loop, compared by difference: a timeout of
// 2^32 ms (49.7 days) or more could never expire. Timeouts are capped at 2,000,000 s.
TEST(Options, TimeoutsAboveTwentyThreeDaysAreRefused) {
  for (const char* flag : {"--idle-timeout", "--drain-timeout", "--header-timeout"}) {
    expect_usage_error({flag, "2000001"}, {flag, "2000001", "2000000"});
    expect_usage_error({flag, "31536000"}, {flag, "31536000"});  // a year: used to be taken
    parse_ok({flag, "2000000"});
  }
}

TEST(Options, SubMillisecondTimeoutsAreRefused) {
  for (const char* flag : {"--idle-timeout", "--drain-timeout", "--header-timeout"}) {
    for (const char* bad : {"0.0004", "0.0009", "1e-5", "0.0000001"})
      expect_usage_error({flag, bad}, {flag, bad, "1 ms"});
    Options o = parse_ok({flag, "0.001"});
    Options z = parse_ok({flag, "0"});
    if (std::string(flag) == "--idle-timeout") {
      EXPECT_DOUBLE_EQ(o.idle_timeout_s, 0.001);
      EXPECT_DOUBLE_EQ(z.idle_timeout_s, 0);
    } else if (std::string(flag) == "--drain-timeout") {
      EXPECT_DOUBLE_EQ(o.drain_timeout_s, 0.001);
      EXPECT_DOUBLE_EQ(z.drain_timeout_s, 0);
    } else {
      EXPECT_DOUBLE_EQ(o.header_timeout_s, 0.001);
      EXPECT_DOUBLE_EQ(z.header_timeout_s, 0);
    }
  }
  rt::TempDir dir;
  std::string path = dir.file("r.toml");
  {
    std::ofstream f(path);
    f << "drain-timeout = 0.0004\n";
  }
  expect_usage_error({"--config", path}, {"r.toml:1: drain-timeout", "1 ms"});
  // --help states what 0 means for each.
  std::string usage = reactord::usage_text(kProtos);
  EXPECT_NE(usage.find("0 = off: never"), std::string::npos) << usage;
  EXPECT_NE(usage.find("0 = abort whatever is"), std::string::npos) << usage;
}

// udp-echo has no unix-socket form (a usage error, exit 2), and --help says whom it ignores.
TEST(Options, UdpEchoListen) {
  Options o;
  reactord::ConfigSource src;
  src.args = {"--listen", "udp-echo=unix:/tmp/x"};
  src.default_config_path = "/nonexistent/reactord.toml";
  ParseResult r = reactord::load_options(src, &o);
  EXPECT_EQ(r.exit_code, 2) << r.message;
  EXPECT_NE(r.message.find("--listen: udp-echo=unix:/tmp/x"), std::string::npos) << r.message;
  std::string usage = reactord::usage_text(kProtos);
  EXPECT_NE(usage.find("reactord_udp_ignored_total"), std::string::npos) << usage;
  EXPECT_NE(usage.find("below 1024"), std::string::npos) << usage;
}

TEST(Options, BufferMemory) {
  // The default is the loop's own default, so the two cannot drift apart.
  EXPECT_EQ(parse_ok({}).buffer_memory, reactor::LoopConfig().buffer_memory);
  EXPECT_EQ(parse_ok({}).buffer_memory, 64ull << 20);
  EXPECT_EQ(parse_ok({"--buffer-memory", "256m"}).buffer_memory, 256ull << 20);
  EXPECT_EQ(parse_ok({"--buffer-memory=1m"}).buffer_memory, 1ull << 20);
  EXPECT_EQ(parse_ok({"--buffer-memory", "2g"}).buffer_memory, 2ull << 30);
  for (const char* bad : {"0", "1023k", "1048575", "lots", "-1", ""})
    expect_usage_error({"--buffer-memory", bad}, {"--buffer-memory", ">= 1m"});
  rt::TempDir dir;
  std::string path = dir.file("r.toml");
  {
    std::ofstream f(path);
    f << "buffer-memory = \"32m\"\n";
  }
  EXPECT_EQ(parse_ok({"--config", path}).buffer_memory, 32ull << 20);
  // Live on SIGHUP, like the watermarks.
  const reactord::OptionDef* def = nullptr;
  for (const auto& d : reactord::option_table(kProtos))
    if (d.key == "buffer-memory") def = &d;
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->reload, reactord::Reload::kLive);
}

TEST(Options, Watermarks) {
  Options o = parse_ok({"--high-water", "2m", "--low-water", "512k"});
  EXPECT_EQ(o.high_water, 2u << 20);
  EXPECT_EQ(o.low_water, 512u << 10);
  o = parse_ok({"--high-water=4MiB", "--low-water=1000"});
  EXPECT_EQ(o.high_water, 4u << 20);
  EXPECT_EQ(o.low_water, 1000u);
  o = parse_ok({"--high-water", "1g", "--low-water", "64KiB"});
  EXPECT_EQ(o.high_water, 1ull << 30);
  EXPECT_EQ(o.low_water, 64u << 10);
  EXPECT_EQ(parse_ok({"--low-water", "0"}).low_water, 0u);
  for (const char* bad : {"0", "12q", "k", "-1", "", "1.5m"})
    expect_usage_error({"--high-water", bad}, {"--high-water"});
  for (const char* bad : {"lots", "-1", "2t"})
    expect_usage_error({"--low-water", bad}, {"--low-water"});
  // low must stay below high.
  expect_usage_error({"--high-water", "64k", "--low-water", "64k"}, {"--low-water"});
  expect_usage_error({"--high-water", "64k", "--low-water", "1m"}, {"--low-water"});
}

TEST(Options, LingerReset) {
  EXPECT_TRUE(parse_ok({"--linger-reset"}).linger_reset);
}

TEST(Options, LogLevel) {
  EXPECT_EQ(parse_ok({"--log-level", "debug"}).log_level, reactor::LogLevel::kDebug);
  EXPECT_EQ(parse_ok({"--log-level", "info"}).log_level, reactor::LogLevel::kInfo);
  EXPECT_EQ(parse_ok({"--log-level", "warn"}).log_level, reactor::LogLevel::kWarn);
  EXPECT_EQ(parse_ok({"--log-level=warning"}).log_level, reactor::LogLevel::kWarn);
  EXPECT_EQ(parse_ok({"--log-level", "error"}).log_level, reactor::LogLevel::kError);
  expect_usage_error({"--log-level", "loud"}, {"--log-level", "loud"});
}

TEST(Options, Backend) {
  EXPECT_EQ(parse_ok({"--backend", "epoll"}).backend, reactor::BackendKind::kEpoll);
  EXPECT_EQ(parse_ok({"--backend", "io_uring"}).backend, reactor::BackendKind::kIoUring);
  EXPECT_EQ(parse_ok({"--backend=auto"}).backend, reactor::BackendKind::kAuto);
  expect_usage_error({"--backend", "kqueue"}, {"--backend", "kqueue"});
}

TEST(Options, HelpAndVersion) {
  for (const char* flag : {"--help", "-h"}) {
    Options o;
    ParseResult r = parse({flag}, &o);
    EXPECT_EQ(r.action, ParseResult::kExit);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.message.find("usage: reactord"), std::string::npos);
  }
  Options o;
  ParseResult r = parse({"--version"}, &o);
  EXPECT_EQ(r.action, ParseResult::kExit);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.message.substr(0, r.message.find('\n')), "reactord 0.1.0");
  EXPECT_NE(r.message.find("\nbackends: epoll"), std::string::npos) << r.message;
  EXPECT_EQ(parse({"-v"}, &o).message, r.message);
  // --help wins even after other flags, and stops parsing before a bad one.
  r = parse({"--threads", "2", "--help", "--bogus"}, &o);
  EXPECT_EQ(r.exit_code, 0);
}

TEST(Options, UsageMentionsEveryFlag) {
  std::string usage = reactord::usage_text(kProtos);
  for (const char* flag :
       {"--listen",        "--threads",      "--pin",           "--backend",      "--backlog",
        "--max-conns",     "--idle-timeout", "--drain-timeout", "--high-water",   "--low-water",
        "--buffer-memory", "--linger-reset", "--log-level",     "--raise-nofile", "--config",
        "--no-config",     "--check-config", "--help",          "--version",      "echo|upper"})
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  // ... and every key of the table (a new setting cannot be left out of --help).
  for (const auto& d : reactord::option_table(kProtos))
    EXPECT_NE(usage.find("--" + std::string(d.key)), std::string::npos) << d.key;
}

TEST(Options, UnknownOptionIsNamed) {
  expect_usage_error({"--frobnicate"}, {"--frobnicate"});
  expect_usage_error({"--frobnicate=3"}, {"--frobnicate"});
  expect_usage_error({"stray"}, {"stray"});
  // -t is --check-config (nginx's spelling); other short letters are not options.
  expect_usage_error({"-x", "2"}, {"-x"});
  expect_usage_error({"-t", "2"}, {"'2'"});
  expect_usage_error({"--threads", "2", "--nope"}, {"--nope"});
}

TEST(Options, MessagesAreFormatted) {
  Options o;
  ParseResult r = parse({"--threads", "x"}, &o);
  EXPECT_EQ(r.message.rfind("reactord: ", 0), 0u) << r.message;
  EXPECT_NE(r.message.find("see --help"), std::string::npos) << r.message;
}

TEST(Options, ConfigFileThenCommandLine) {
  rt::TempDir dir;
  std::string path = dir.file("r.toml");
  {
    std::ofstream f(path);
    f << "threads = 3\nidle-timeout = 7\nlisten = [\"echo=127.0.0.1:0\"]\n";
  }
  Options o = parse_ok({"--config", path});
  EXPECT_EQ(o.threads, 3);
  EXPECT_DOUBLE_EQ(o.idle_timeout_s, 7);
  ASSERT_EQ(o.listens.size(), 1u);
  EXPECT_EQ(o.config_path, path);
  // The command line wins, and a repeatable key named there replaces the file's values.
  o = parse_ok({"--config", path, "--threads", "5", "--listen", "upper=127.0.0.1:0"});
  EXPECT_EQ(o.threads, 5);
  EXPECT_DOUBLE_EQ(o.idle_timeout_s, 7);
  ASSERT_EQ(o.listens.size(), 1u);
  EXPECT_EQ(o.listens[0].protocol, "upper");
  // The default config file is read when present, unless --no-config.
  Options d;
  ASSERT_EQ(parse({}, &d, path).action, ParseResult::kRun);
  EXPECT_EQ(d.threads, 3);
  Options n;
  ASSERT_EQ(parse({"--no-config"}, &n, path).action, ParseResult::kRun);
  EXPECT_EQ(n.threads, 0);
  EXPECT_EQ(n.config_path, "");
}

TEST(Options, ConfigErrorsExit2) {
  rt::TempDir dir;
  expect_usage_error({"--config", dir.file("missing.toml")}, {"missing.toml"});
  expect_usage_error({"--config"}, {"--config", "needs a value"});
  std::string path = dir.file("bad.toml");
  {
    std::ofstream f(path);
    f << "threads = 3\nbogus-key = 1\n";
  }
  expect_usage_error({"--config", path}, {"bad.toml", "bogus-key"});
}

TEST(Options, CheckConfigExits0WhenValid) {
  Options o;
  ParseResult r = parse({"--check-config", "--threads", "2"}, &o);
  EXPECT_EQ(r.action, ParseResult::kExit);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.message.find("OK"), std::string::npos) << r.message;
  expect_usage_error({"--check-config", "--threads", "0"}, {"--threads"});
}

}  // namespace
