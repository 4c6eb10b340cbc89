// Proxy example: the splice of two connections (see splice.h for the rules).
#include "splice.h"

#include "reactor/event_loop.h"

namespace proxy {

static Pair* pair_of(reactor::Connection& c) {
  return static_cast<Pair*>(c.user());
}

reactor::Connection* Splice::other(reactor::Connection& c) {
  Pair* p = pair_of(c);
  if (p == nullptr) return nullptr;
  return p->side[0] == &c ? p->side[1] : p->side[0];
}

void Splice::on_data(reactor::Connection& c, reactor::Buffer&& data) {
  reactor::Connection* to = other(c);
  if (to == nullptr || to->closed()) return;  // the other side is gone: c is being aborted
  to->send(std::move(data));
  if (to->queued_bytes() > c.loop().config().high_water) c.pause_reading();
}

void Splice::on_writable(reactor::Connection& c) {
  // c's queue fell to the low-water mark: the side that fills it may read again.
  if (reactor::Connection* from = other(c)) from->resume_reading();
}

void Splice::on_peer_closed(reactor::Connection& c) {
  reactor::Connection* to = other(c);
  if (to == nullptr || to->peer_closed()) {  // both directions have ended
    c.close();
    if (to != nullptr) to->close();
    return;
  }
  to->shutdown_write();  // FIN after what is queued; its replies still flow back to c
}

void Splice::on_close(reactor::Connection& c) {
  Pair* p = pair_of(c);
  if (p == nullptr) return;
  reactor::Connection* to = other(c);
  p->side[p->side[0] == &c ? 0 : 1] = nullptr;
  c.set_user(nullptr);
  if (to == nullptr) {
    delete p;
    return;
  }
  // Closed without both FINs (a reset, an error, an idle timeout): the other peer hears of it
  // as a reset, not as a clean end it could mistake for a complete transfer.
  if (to->is_open()) to->abort(/*reset=*/true);
}

void ClientSide::on_open(reactor::Connection& c) {
  auto* p = new Pair;
  p->side[0] = &c;
  c.set_user(p);
  c.pause_reading();  // nowhere to put its bytes until the upstream connection is up
  reactor::Connection* up = c.loop().connect(upstream_, &upstream_side_);
  if (up == nullptr) {
    c.abort(/*reset=*/true);
    return;
  }
  p->side[1] = up;
  up->set_user(p);
}

void UpstreamSide::on_open(reactor::Connection& c) {
  if (reactor::Connection* client = other(c)) client->resume_reading();
}

void UpstreamSide::on_connect_failed(reactor::Connection& c, int) {
  if (reactor::Connection* client = other(c)) client->close();
}

}  // namespace proxy
