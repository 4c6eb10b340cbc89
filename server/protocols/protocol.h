// What a protocol is to reactord: a name for --listen, a transport, and a factory the server
// calls once per loop. Protocols see the server only through ProtocolContext.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "reactor/event_loop.h"
#include "reactor/handler.h"

namespace reactor {
class FdWatcher;
}

namespace reactord {

struct Options;
struct HttpContext;
class UdpEchoPolicy;

enum class Transport : uint8_t {
  kTcp,  // stream listeners: HOST:PORT, [IPV6]:PORT or unix:/path; served by a handler
  kUdp,  // one SO_REUSEPORT datagram socket per loop (HOST:PORT only); served by an FdWatcher
};

// What the server lends its protocols. Everything referred to lives as long as the server
// (longer than any handler or service made from it); none of it is the server itself.
struct ProtocolContext {
  const Options& options;   // the start-up snapshot (SIGHUP reaches loops via LoopConfig)
  const HttpContext& http;  // drain state, stats sink, metrics source (http_context.h)
  UdpEchoPolicy& udp;       // whom a datagram service must not answer; its counters
};

struct Protocol {
  using MakeHandler = std::function<std::unique_ptr<reactor::ConnectionHandler>(
      reactor::EventLoop& loop, const ProtocolContext& ctx)>;
  // Takes ownership of `fd`, a bound non-blocking UDP socket, and watches it on `loop`.
  using MakeDatagramService = std::function<std::unique_ptr<reactor::FdWatcher>(
      reactor::EventLoop& loop, int fd, const ProtocolContext& ctx)>;

  std::string name;  // --listen NAME=ADDR, FileDescriptorName= of a systemd socket
  Transport transport = Transport::kTcp;
  std::string default_address;  // listened on when neither --listen nor systemd says; "" = not
  std::string help;             // extra --help lines under --listen
  // kTcp: called on each loop's thread, one handler per loop and listener (so a handler may
  // keep per-loop state without locks); the server keeps it until the loops are joined.
  MakeHandler make_handler;
  // kUdp: called on each loop's thread for that loop's socket.
  MakeDatagramService make_datagram_service;
};

// A TCP protocol from its name, default address ("" = none) and handler factory.
inline Protocol tcp_protocol(std::string name, std::string default_address,
                             Protocol::MakeHandler make_handler) {
  Protocol p;
  p.name = std::move(name);
  p.default_address = std::move(default_address);
  p.make_handler = std::move(make_handler);
  return p;
}

// The factory of a handler that needs nothing from the server (echo, upper).
template <typename Handler>
Protocol::MakeHandler plain_handler() {
  return [](reactor::EventLoop&, const ProtocolContext&) { return std::make_unique<Handler>(); };
}

}  // namespace reactord
