// The PROXY gate: sits in front of a listener's protocol handler when --proxy-from is set.
// Connections from a trusted balancer must begin with a PROXY header; the gate reads it, makes
// the header's source the connection's client (client_address.h), checks --allow/--deny
// against it, and only then hands the connection, with any bytes that followed the header, to
// the protocol. Other connections are handed over at once, untouched.
#pragma once

#include <cstdint>

#include "reactor/access_list.h"
#include "reactor/handler.h"
#include "reactor/timer_wheel.h"
#include "server/proxy/proxy_stats.h"

namespace reactord {

struct ProxyGateConfig {
  const reactor::AccessList* trusted = nullptr;  // --proxy-from (allow rules only)
  const reactor::AccessList* access = nullptr;   // --allow/--deny (nullptr or empty = all)
  uint64_t header_timeout_ms = 0;  // whole header within this (0 = only the idle timeout)
  ProxyStats* stats = nullptr;
};

// Thread affinity: one gate per loop and listener, like the handler it guards.
class ProxyGate final : public reactor::ConnectionHandler {
 public:
  ProxyGate(reactor::ConnectionHandler* protocol, const ProxyGateConfig& config)
      : protocol_(protocol), config_(config) {}

  void on_open(reactor::Connection& c) override;
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override;
  void on_peer_closed(reactor::Connection& c) override;
  void on_close(reactor::Connection& c) override;

 private:
  struct Pending;
  static void on_header_timeout(reactor::TimerNode* node);
  void refuse(reactor::Connection& c, const char* why);
  void admit(reactor::Connection& c, Pending* p, reactor::Buffer&& data, size_t header_bytes);
  void hand_over(reactor::Connection& c);

  reactor::ConnectionHandler* protocol_;
  ProxyGateConfig config_;
};

}  // namespace reactord
