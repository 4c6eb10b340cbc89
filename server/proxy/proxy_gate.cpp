// ProxyGate: the header phase of a connection from a trusted balancer, then the hand-over.
#include "server/proxy/proxy_gate.h"

#include <sys/socket.h>

#include "reactor/connection.h"
#include "reactor/event_loop.h"
#include "reactor/log.h"
#include "reactor/timer_wheel.h"
#include "server/client_address.h"
#include "server/proxy/proxy_header.h"

namespace reactord {

// Lives only while the header is awaited (Connection::user() until the hand-over): a
// connection that never meets the gate, or has passed it, costs nothing here.
struct ProxyGate::Pending : reactor::TimerNode {
  ProxyGate* gate = nullptr;
  reactor::EventLoop* loop = nullptr;
  reactor::ConnectionId id;
  ProxyHeaderParser parser;
};

void ProxyGate::on_open(reactor::Connection& c) {
  reactor::SocketAddress peer;
  peer.len = sizeof peer.storage;
  if (getpeername(c.fd(), peer.get(), &peer.len) != 0 || !config_.trusted->matches_any(peer.get())) {
    hand_over(c);
    return;
  }
  auto* p = new Pending;
  p->gate = this;
  p->loop = &c.loop();
  p->id = c.id();
  c.set_user(p);
  if (config_.header_timeout_ms > 0) {
    p->set_callback(&ProxyGate::on_header_timeout);
    c.loop().timers().schedule(p, config_.header_timeout_ms);
  }
}

void ProxyGate::on_data(reactor::Connection& c, reactor::Buffer&& data) {
  auto* p = static_cast<Pending*>(c.user());
  auto r = p->parser.feed(std::string_view(data.data(), data.size()));
  if (r.status == ProxyHeaderParser::Status::kInvalid) {
    refuse(c, p->parser.error());
  } else if (r.status == ProxyHeaderParser::Status::kDone) {
    admit(c, p, std::move(data), r.consumed);
  }
}

void ProxyGate::on_peer_closed(reactor::Connection& c) { refuse(c, "closed before the header ended"); }

void ProxyGate::on_close(reactor::Connection& c) {
  delete static_cast<Pending*>(c.user());
  c.set_user(nullptr);
}

void ProxyGate::on_header_timeout(reactor::TimerNode* node) {
  auto* p = static_cast<Pending*>(node);
  if (reactor::Connection* c = p->loop->find(p->id)) p->gate->refuse(*c, "header timeout");
}

// No byte of protocol output, ever: the protocol has not seen this connection.
void ProxyGate::refuse(reactor::Connection& c, const char* why) {
  ProxyStats::add(config_.stats->rejected);
  REACTOR_LOG_DEBUG("PROXY header from %s refused: %s", client_address(c).to_string().c_str(), why);
  c.abort(/*reset=*/false);
}

void ProxyGate::admit(reactor::Connection& c, Pending* p, reactor::Buffer&& data,
                      size_t header_bytes) {
  const ProxyHeader& h = p->parser.header();
  bool named = h.command == ProxyHeader::Command::kProxy && h.source.family() != AF_UNSPEC;
  ProxyStats::add(h.command == ProxyHeader::Command::kLocal ? config_.stats->local
                                                           : config_.stats->accepted);
  if (named) set_client_address(c, h.source);
  delete p;
  c.set_user(nullptr);
  // The loop skipped --allow/--deny for the balancer's address; the client is known now.
  if (config_.access && !config_.access->empty() &&
      !config_.access->permits(client_address(c).get())) {
    c.loop().stats().denied.add();
    c.abort(/*reset=*/true);
    return;
  }
  hand_over(c);
  data.consume_front(header_bytes);
  if (data.size() > 0 && c.is_open()) protocol_->on_data(c, std::move(data));
}

void ProxyGate::hand_over(reactor::Connection& c) {
  c.set_handler(protocol_);
  protocol_->on_open(c);
  if (c.loop().draining() && c.is_open()) protocol_->on_drain(c);
}

}  // namespace reactord
