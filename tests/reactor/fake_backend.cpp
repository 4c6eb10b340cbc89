// The in-memory backend: every operation is a change to a FakeSocket, every completion a
// direct call through the LoopPort, all on the test's thread.
#include "tests/reactor/fake_backend.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "reactor/connection.h"
#include "reactor/listener.h"

namespace reactor_test {

using reactor::Connection;

// --- FakeBackend: the loop's side ---

void FakeBackend::start_accept(reactor::Listener& l) {
  l.accepting = true;
  net_.listening_[l.fd] = true;
}

void FakeBackend::stop_accept(reactor::Listener& l) {
  l.accepting = false;
  net_.listening_[l.fd] = false;
}

void FakeBackend::add_connection(Connection& c) {
  net_.sock(c.fd()).id = c.id();
}

void FakeBackend::connect(Connection& c, const sockaddr*, socklen_t) {
  ++net_.sock(c.fd()).connect_pending;
}

void FakeBackend::start_receive(Connection& c) {
  FakeSocket& s = net_.sock(c.fd());
  s.receiving = true;
  ++s.receive_starts;
}

void FakeBackend::stop_receive(Connection& c) {
  FakeSocket& s = net_.sock(c.fd());
  s.receiving = false;
  ++s.receive_stops;
}

void FakeBackend::flush(Connection& c) {
  FakeSocket& s = net_.sock(c.fd());
  if (s.connect_pending > 0) return;  // written once connected (EventLoop flushes after on_open)
  reactor::WriteQueue& q = port_.queue(c);
  while (!q.empty() && !c.closed() && s.window > 0) {
    iovec iov[16];
    int n = q.gather(port_.slices(), iov, 16);
    size_t taken = 0;
    for (int i = 0; i < n && taken < s.window; ++i) {
      size_t len = std::min(iov[i].iov_len, s.window - taken);
      s.wire.append(static_cast<const char*>(iov[i].iov_base), len);
      taken += len;
    }
    if (s.window != SIZE_MAX) s.window -= taken;
    port_.on_sent(c, taken);
  }
}

int FakeBackend::shutdown_write(Connection& c) {
  net_.sock(c.fd()).shut_wr = true;
  return 0;
}

void FakeBackend::reset_on_close(Connection& c) {
  net_.sock(c.fd()).reset = true;
}

void FakeBackend::close(Connection& c) {
  // The descriptor stays open until the FakeNet goes: fd numbers are never reused, so each
  // names one connection for the whole test.
  FakeSocket& s = net_.sock(c.fd());
  s.closed = true;
  s.receiving = false;
  port_.on_closed(c);
}

void FakeBackend::deliver(FakeSocket& s) {
  reactor::BufferPool& pool = port_.buffers();
  while (s.receiving && !s.closed && !s.inbound.empty()) {
    Connection* c = port_.find(s.id);
    if (c == nullptr) return;
    uint32_t id = pool.acquire_id();
    if (id == reactor::BufferPool::kInvalid) return;
    size_t n = std::min<size_t>(pool.buffer_size(), s.inbound.size());
    memcpy(pool.address(id), s.inbound.data(), n);
    s.inbound.erase(0, n);
    port_.on_received(*c, reactor::Buffer(&pool, id, 0, static_cast<uint32_t>(n)));
  }
  if (s.receiving && !s.closed && s.inbound.empty() && s.peer_fin && !s.fin_delivered) {
    s.fin_delivered = true;
    if (Connection* c = port_.find(s.id)) port_.on_peer_eof(*c);
  }
}

void FakeBackend::poll(int) {
  if (!net_.script_.empty()) {
    FakeNet::Step step = std::move(net_.script_.front());
    net_.script_.pop_front();
    net_.now_ += step.advance_ms;
    port_.on_wakeup();
    step.fn();
  } else {
    port_.on_wakeup();
  }
  for (auto& [fd, s] : net_.sockets_) deliver(s);
  if (net_.script_.empty()) net_.loop_->request_stop();
}

// --- FakeNet: the peer's and the kernel's side ---

FakeNet::FakeNet() : now_(1'000'000) {}

FakeNet::~FakeNet() {
  for (auto& [fd, s] : sockets_) ::close(fd);
}

reactor::LoopHooks FakeNet::hooks() {
  reactor::LoopHooks h;
  h.make_backend = [](reactor::LoopPort port,
                      void* context) -> std::unique_ptr<reactor::IoBackend> {
    auto* net = static_cast<FakeNet*>(context);
    auto backend = std::make_unique<FakeBackend>(port, *net);
    net->backend_ = backend.get();
    return backend;
  };
  h.clock_ms = [](void* context) { return static_cast<FakeNet*>(context)->now_; };
  h.context = this;
  return h;
}

int FakeNet::new_listener_fd() {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);  // the loop owns and closes it
  if (fd < 0) throw std::runtime_error("eventfd failed");
  listener_fds_.push_back(fd);
  return fd;
}

void FakeNet::step(std::function<void()> fn, uint64_t advance_ms) {
  script_.push_back(Step{std::move(fn), advance_ms});
}

void FakeNet::run(reactor::EventLoop& loop) {
  loop_ = &loop;
  loop.run();
}

int FakeNet::accept(size_t listener_index) {
  reactor::Listener& l = *backend_->port().listeners().at(listener_index);
  if (!l.accepting) throw std::logic_error("accept on a listener that is not accepting");
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw std::runtime_error("eventfd failed");
  sockets_[fd] = FakeSocket{};
  backend_->port().on_accepted(l, fd);
  return fd;
}

Connection* FakeNet::conn(int fd) {
  return backend_->port().find(sock(fd).id);
}

void FakeNet::send(int fd, std::string_view bytes) {
  FakeSocket& s = sock(fd);
  if (s.peer_fin) throw std::logic_error("send after the peer's FIN");
  s.inbound.append(bytes);
}

void FakeNet::fin(int fd) {
  FakeSocket& s = sock(fd);
  s.peer_fin = true;
  // Reading stopped: the loop hears of the FIN as an RDHUP, as from epoll and io_uring.
  if (!s.receiving && !s.closed) {
    if (Connection* c = conn(fd)) backend_->port().on_peer_fin_while_paused(*c);
  }
}

void FakeNet::fail(int fd, int err) {
  if (Connection* c = conn(fd)) backend_->port().on_io_error(*c, err);
}

void FakeNet::set_window(int fd, size_t bytes) {
  sock(fd).window = bytes;
  Connection* c = conn(fd);
  if (c != nullptr && !c->closed()) backend_->flush(*c);
}

void FakeNet::complete_connect(int fd, int err) {
  FakeSocket& s = sock(fd);
  if (s.connect_pending == 0) throw std::logic_error("no connect in progress");
  --s.connect_pending;
  if (Connection* c = conn(fd)) backend_->port().on_connected(*c, err);
}

void FakeNet::receive_in_flight(int fd, std::string_view bytes) {
  Connection* c = conn(fd);
  if (c == nullptr) throw std::logic_error("no connection");
  reactor::BufferPool& pool = backend_->port().buffers();
  reactor::Buffer b = pool.acquire();
  if (!b || bytes.size() > pool.buffer_size()) throw std::logic_error("one buffer's worth");
  memcpy(b.data(), bytes.data(), bytes.size());
  b.set_range(0, static_cast<uint32_t>(bytes.size()));
  backend_->port().on_received(*c, std::move(b));
}

void FakeNet::eof_in_flight(int fd) {
  FakeSocket& s = sock(fd);
  s.peer_fin = true;
  s.fin_delivered = true;
  if (Connection* c = conn(fd)) backend_->port().on_peer_eof(*c);
}

FakeSocket& FakeNet::sock(int fd) {
  return sockets_[fd];
}

int FakeNet::accepting_listeners() const {
  return static_cast<int>(std::count_if(listening_.begin(), listening_.end(),
                                        [](const auto& kv) { return kv.second; }));
}

}  // namespace reactor_test
