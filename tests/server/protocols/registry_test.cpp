// The protocol registry: reactord's own table, refusals of bad or unknown names, and --listen,
// --help and the default listeners taking everything they know about protocols from it.
#include "server/protocols/registry.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "server/options.h"
#include "server/protocols/echo.h"

namespace reactord {
namespace {

ParseResult load(const ProtocolRegistry& protocols, std::vector<std::string> args, Options* out) {
  ConfigSource src;
  src.args = std::move(args);
  src.protocols = protocols;
  src.default_config_path = "/nonexistent/reactord.toml";
  return load_options(src, out);
}

Protocol tcp(std::string name, std::string default_address = "") {
  return tcp_protocol(std::move(name), std::move(default_address), plain_handler<EchoHandler>());
}

Protocol udp(std::string name) {
  Protocol p;
  p.name = std::move(name);
  p.transport = Transport::kUdp;
  p.make_datagram_service = [](reactor::EventLoop&, int, const ProtocolContext&) {
    return std::unique_ptr<reactor::FdWatcher>();
  };
  return p;
}

// The message of the std::invalid_argument that add() throws, or "" when it accepts `p`.
std::string add_error(ProtocolRegistry& r, Protocol p) {
  try {
    r.add(std::move(p));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ProtocolRegistry, BuiltinListsExactlyReactordsProtocols) {
  const ProtocolRegistry& r = builtin_protocols();
  EXPECT_EQ(r.names(), "echo|upper|http|udp-echo|agent");
  ASSERT_EQ(r.all().size(), 5u);
  struct Want {
    const char* name;
    Transport transport;
    const char* default_address;
  };
  const Want want[] = {{"echo", Transport::kTcp, "127.0.0.1:7000"},
                       {"upper", Transport::kTcp, "127.0.0.1:7001"},
                       {"http", Transport::kTcp, "127.0.0.1:8080"},
                       {"udp-echo", Transport::kUdp, ""},
                       {"agent", Transport::kTcp, ""}};
  for (const Want& w : want) {
    SCOPED_TRACE(w.name);
    const Protocol* p = r.find(w.name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->name, w.name);
    EXPECT_EQ(p->transport, w.transport);
    EXPECT_EQ(p->default_address, w.default_address);
    EXPECT_EQ(static_cast<bool>(p->make_handler), w.transport == Transport::kTcp);
    EXPECT_EQ(static_cast<bool>(p->make_datagram_service), w.transport == Transport::kUdp);
  }
}

TEST(ProtocolRegistry, UnknownNameIsRefusedNamingTheKnownOnes) {
  EXPECT_EQ(builtin_protocols().find("gopher"), nullptr);
  EXPECT_EQ(builtin_protocols().find(""), nullptr);
  EXPECT_EQ(builtin_protocols().find("ECHO"), nullptr);  // names are exact
  Options o;
  ParseResult r = load(builtin_protocols(), {"--listen", "gopher=127.0.0.1:70"}, &o);
  EXPECT_EQ(r.action, ParseResult::kExit);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.message,
            "reactord: --listen: unknown protocol 'gopher' (known: echo|upper|http|udp-echo|agent) (see "
            "--help)");
  EXPECT_TRUE(o.listens.empty());
}

TEST(ProtocolRegistry, AddRefusesBrokenEntriesNamingThem) {
  ProtocolRegistry r = builtin_protocols();
  EXPECT_EQ(add_error(r, tcp("echo")), "protocol 'echo': already registered");
  EXPECT_EQ(add_error(r, tcp("")),
            "protocol '': a name must be non-empty, without '=', '|' or spaces");
  EXPECT_EQ(add_error(r, tcp("a=b")),
            "protocol 'a=b': a name must be non-empty, without '=', '|' or spaces");
  Protocol no_handler = tcp("bare");
  no_handler.make_handler = nullptr;
  EXPECT_EQ(add_error(r, no_handler), "protocol 'bare': a TCP protocol needs make_handler");
  Protocol no_service = udp("bare-udp");
  no_service.make_datagram_service = nullptr;
  EXPECT_EQ(add_error(r, no_service),
            "protocol 'bare-udp': a UDP protocol needs make_datagram_service");
  // None of the refused entries got in; a good one does, after the built-in ones.
  EXPECT_EQ(r.names(), "echo|upper|http|udp-echo|agent");
  EXPECT_EQ(add_error(r, tcp("rot13")), "");
  EXPECT_EQ(r.names(), "echo|upper|http|udp-echo|agent|rot13");
  EXPECT_EQ(builtin_protocols().names(), "echo|upper|http|udp-echo|agent");  // r was a copy
}

// Another table: --listen accepts its names only, UDP ones refuse unix:, the help lists them,
// and the defaults are its default addresses.
TEST(ProtocolRegistry, ListenHelpAndDefaultsComeFromTheRegistry) {
  const ProtocolRegistry r = {tcp("rot13", "127.0.0.1:7300"), tcp("quiet"), udp("dgram")};
  Options o;
  ParseResult res = load(r, {}, &o);
  ASSERT_EQ(res.action, ParseResult::kRun) << res.message;
  ASSERT_EQ(o.listens.size(), 1u);
  EXPECT_EQ(o.listens[0].protocol, "rot13");
  EXPECT_EQ(o.listens[0].address.to_string(), "127.0.0.1:7300");

  Options o2;
  res = load(r, {"--listen", "dgram=127.0.0.1:0", "--listen", "quiet=unix:/tmp/q.sock"}, &o2);
  ASSERT_EQ(res.action, ParseResult::kRun) << res.message;
  ASSERT_EQ(o2.listens.size(), 2u);
  EXPECT_EQ(o2.listens[0].protocol, "dgram");
  EXPECT_EQ(o2.listens[1].protocol, "quiet");

  Options o3;
  res = load(r, {"--listen", "dgram=unix:/tmp/d.sock"}, &o3);
  EXPECT_EQ(res.exit_code, 2);
  EXPECT_NE(res.message.find("--listen: dgram=unix:/tmp/d.sock: UDP needs HOST:PORT"),
            std::string::npos)
      << res.message;
  res = load(r, {"--listen", "echo=127.0.0.1:0"}, &o3);
  EXPECT_EQ(res.exit_code, 2);
  EXPECT_NE(res.message.find("unknown protocol 'echo' (known: rot13|quiet|dgram)"),
            std::string::npos)
      << res.message;

  std::string help = usage_text(r);
  EXPECT_NE(help.find("serve PROTO (rot13|quiet|dgram) on ADDR"), std::string::npos) << help;
  EXPECT_NE(help.find("unix:/path (dgram: not unix)."), std::string::npos) << help;
  EXPECT_NE(help.find("Default: rot13=127.0.0.1:7300\n"), std::string::npos) << help;
  EXPECT_EQ(help.find("echo"), std::string::npos) << help;
}

// The built-in table reproduces reactord's --listen help word for word.
TEST(ProtocolRegistry, BuiltinListenHelp) {
  const OptionDef& listen = option_table(builtin_protocols()).front();
  ASSERT_EQ(listen.key, "listen");
  EXPECT_EQ(listen.help,
            "serve PROTO (echo|upper|http|udp-echo|agent) on ADDR; repeatable.\n"
            "ADDR is HOST:PORT, [IPV6]:PORT or unix:/path (udp-echo: not unix).\n"
            "udp-echo never answers datagrams from its own ports or from ports\n"
            "below 1024 (echo loops); /metrics counts them in\n"
            "reactord_udp_ignored_total.\n"
            "agent answers HAProxy's agent check with one line per connection:\n"
            "ready up N% (N from the loop's memory use) or drain (SIGTERM)\n"
            "Default: echo=127.0.0.1:7000, upper=127.0.0.1:7001 and\n"
            "http=127.0.0.1:8080\n"
            "(none when systemd passes listening sockets)");
}

}  // namespace
}  // namespace reactord
