// EpollBackend: edge-triggered readiness turned into accept/receive/send completions.
#include "reactor/src/epoll_backend.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "reactor/event_loop.h"
#include "reactor/log.h"
#include "reactor/src/fd_pressure.h"

namespace reactor {

EpollBackend::EpollBackend(LoopPort loop) : loop_(loop), events_(256) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + strerror(errno));
}

EpollBackend::~EpollBackend() {
  ::close(epfd_);
}

void EpollBackend::start_accept(Listener& l) {
  if (l.accepting) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = tag(kListener, 0, l.index);
  // ET on a listener with a non-empty backlog reports at once, so nothing queued is missed.
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, l.fd, &ev) != 0) {
    REACTOR_LOG_ERROR("epoll_ctl(ADD listener %d): %s", l.fd, strerror(errno));
    return;
  }
  l.accepting = true;
}

void EpollBackend::stop_accept(Listener& l) {
  if (!l.accepting) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, l.fd, nullptr);
  l.accepting = false;
}

void EpollBackend::add_connection(Connection& c) {
  LoopPort::reset_backend_state<uint16_t>(c) = kWritable;
  if (c.has(Connection::kConnecting)) return;  // registered by connect(), after ::connect
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = tag(kConn, c.id().gen, c.id().slot);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd(), &ev) != 0) {
    loop_.on_io_error(c, errno);
    return;
  }
  bits(c) |= kRegistered;
}

void EpollBackend::connect(Connection& c, const sockaddr* addr, socklen_t len) {
  int rc = ::connect(c.fd(), addr, len);
  int err = rc == 0 ? 0 : errno;
  if (rc != 0 && err != EINPROGRESS) {
    fail_connect_later(c, err);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = tag(kConn, c.id().gen, c.id().slot);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd(), &ev) != 0) {
    fail_connect_later(c, errno);
    return;
  }
  bits(c) |= kRegistered;
  // Completion (or an immediate success) shows up as an OUT edge; SO_ERROR tells which.
}

void EpollBackend::fail_connect_later(Connection& c, int err) {
  // Reported from the next turn, never from inside EventLoop::connect(): the caller gets its
  // Connection* back (and can attach state) before any callback runs, as with io_uring.
  ConnectionId id = c.id();
  LoopPort port = loop_;
  loop_.post([port, id, err](EventLoop&) mutable {
    if (Connection* conn = port.find(id)) port.on_connected(*conn, err);
  });
}

void EpollBackend::start_receive(Connection& c) {
  bits(c) |= kRecvOn;
  // With edge triggering a paused reader may have missed its edge: read on the next turn.
  if (bits(c) & kReadable) defer(tag(kConn, c.id().gen, c.id().slot));
}

void EpollBackend::stop_receive(Connection& c) {
  bits(c) &= ~kRecvOn;
}

void EpollBackend::flush(Connection& c) {
  if (!(bits(c) & kWritable)) return;  // an OUT edge will call us back
  if (delivering_ == &c) return;       // read_wide() flushes the whole chain at once
  while (!loop_.queue(c).empty() && !c.closed()) {
    iovec iov[64];
    int cnt = loop_.queue(c).gather(loop_.slices(), iov, 64);
    size_t total = iov[0].iov_len;
    ssize_t n;
    if (cnt == 1) {  // a small reply: no msghdr to build (the callgrind gate's path)
      n = ::send(c.fd(), iov[0].iov_base, total, MSG_NOSIGNAL | MSG_DONTWAIT);
    } else {
      for (int i = 1; i < cnt; ++i) total += iov[i].iov_len;
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(cnt);
      n = ::sendmsg(c.fd(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    if (n >= 0) {
      loop_.on_sent(c, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < total) {
        bits(c) &= ~kWritable;  // socket buffer full: wait for the OUT edge
        return;
      }
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      bits(c) &= ~kWritable;
      return;
    }
    loop_.on_io_error(c, errno);
    return;
  }
}

void EpollBackend::close(Connection& c) {
  // close() drops the epoll registration with the last reference to the socket; events
  // already fetched for it carry the old generation or see kClosed and are ignored.
  ::close(c.fd());
  bits(c) = 0;
  loop_.on_closed(c);
}

void EpollBackend::watch(int fd, FdWatcher* w) {
  uint32_t index = static_cast<uint32_t>(watchers_.size());
  for (uint32_t i = 0; i < watchers_.size(); ++i) {
    if (!watchers_[i]) {
      index = i;
      break;
    }
  }
  if (index == watchers_.size()) watchers_.push_back(nullptr);
  watchers_[index] = w;
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: watchers read what they want, the rest re-reports
  ev.data.u64 = tag(kWatcher, 0, index);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    REACTOR_LOG_ERROR("epoll_ctl(ADD watcher %d): %s", fd, strerror(errno));
}

void EpollBackend::unwatch(int fd, FdWatcher* w) {
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  for (auto& slot : watchers_) {
    if (slot == w) slot = nullptr;
  }
}

Connection* EpollBackend::find_conn(uint64_t t) {
  return loop_.find(ConnectionId{CompletionTag::index(t), CompletionTag::gen(t)});
}

void EpollBackend::defer(uint64_t t) {
  if (CompletionTag::op(t) == kConn) {
    Connection* c = find_conn(t);
    if (!c) return;
    if (bits(*c) & kDeferred) return;
    bits(*c) |= kDeferred;
  }
  deferred_.push_back(t);
}

void EpollBackend::poll(int timeout_ms) {
  if (!deferred_.empty()) timeout_ms = starved_ ? 1 : 0;
  int n = epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (timeout_ms != 0) loop_.on_wakeup();
  if (n < 0) {
    if (errno != EINTR) REACTOR_LOG_ERROR("epoll_wait: %s", strerror(errno));
    n = 0;
  }
  for (int i = 0; i < n; ++i) on_event(events_[i].data.u64, events_[i].events);
  if (n == static_cast<int>(events_.size()) && events_.size() < 4096)
    events_.resize(events_.size() * 2);
  run_deferred();
}

void EpollBackend::run_deferred() {
  if (deferred_.empty()) return;
  starved_ = false;
  deferred_running_.swap(deferred_);
  for (uint64_t t : deferred_running_) {
    uint32_t kind = CompletionTag::op(t);
    if (kind == kConn) {
      Connection* c = find_conn(t);
      if (!c || c->closed()) continue;
      bits(*c) &= ~kDeferred;
      do_read(*c);
    } else if (kind == kListener) {
      auto& ls = loop_.listeners();
      uint32_t index = CompletionTag::index(t);
      if (index < ls.size() && ls[index]->accepting) do_accept(*ls[index]);
    }
  }
  deferred_running_.clear();
}

void EpollBackend::on_event(uint64_t data, uint32_t events) {
  uint32_t kind = CompletionTag::op(data);
  uint32_t index = CompletionTag::index(data);
  if (kind == kConn) {
    Connection* c = find_conn(data);
    if (c && !c->closed()) conn_event(*c, events);
  } else if (kind == kListener) {
    auto& ls = loop_.listeners();
    if (index < ls.size() && ls[index]->accepting) do_accept(*ls[index]);
  } else if (index < watchers_.size() && watchers_[index]) {
    watchers_[index]->on_readable();
  }
}

void EpollBackend::conn_event(Connection& c, uint32_t events) {
  if (c.has(Connection::kConnecting)) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    loop_.on_connected(c, err);
    if (c.closed()) return;
  }
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !hangup(c, events)) return;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
    bits(c) |= kWritable;
    if (!loop_.queue(c).empty()) flush(c);
    if (c.closed()) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    bits(c) |= kReadable;
    if (bits(c) & kRecvOn) do_read(c);
  }
}

// RDHUP/HUP/ERR. Returns false when the connection was ended here.
bool EpollBackend::hangup(Connection& c, uint32_t events) {
  bits(c) |= kHup;
  if (bits(c) & kRecvOn) return true;  // the reads will see the EOF or the error
  if (events & EPOLLRDHUP) loop_.on_peer_fin_while_paused(c);
  if ((events & (EPOLLHUP | EPOLLERR)) && !(bits(c) & kRecvOn) && loop_.queue(c).empty() &&
      !c.closed()) {
    // Reset while we were not reading (paused by the memory budget, say) and with nothing to
    // send that would find out: end it now rather than hold its memory until it times out.
    int err = 0;
    socklen_t len = sizeof err;
    const bool asked = getsockopt(c.fd(), SOL_SOCKET, SO_ERROR, &err, &len) == 0;
    // No error: a HUP from both FINs (ours by shutdown_write, then the peer's). A protocol
    // that paused reading itself reads what the peer sent before its FIN when it resumes, and
    // so does one that resumed while the bytes held during its pause wait for the next turn.
    if (asked && err == 0 && (c.has(Connection::kUserPaused) || c.has(Connection::kInputHeld)))
      return true;
    if (!asked || err == 0) err = ECONNRESET;
    loop_.on_io_error(c, err);
    return false;
  }
  return !c.closed();
}

void EpollBackend::do_read(Connection& c) {
  BufferPool& pool = loop_.buffers();
  const uint32_t cap = pool.buffer_size();
  for (uint32_t i = 0; i < loop_.config().read_batch; ++i) {
    if (!(bits(c) & kRecvOn) || c.closed()) return;
    uint32_t id = pool.acquire_id();
    if (id == BufferPool::kInvalid) {
      // Out of buffers: free some by closing whoever holds the most (not this reader merely
      // for asking), then try again. Only if that freed nothing does this read wait a turn.
      loop_.on_pool_exhausted(&c);
      if (c.closed() || c.has(Connection::kAbortPending)) return;
      id = pool.acquire_id();
    }
    if (id == BufferPool::kInvalid) {
      starved_ = true;
      defer(tag(kConn, c.id().gen, c.id().slot));
      return;
    }
    size_t want = cap;
    ssize_t n;
    // Under memory pressure a stream reads one buffer at a time: a wide read would take a
    // chain's worth of the budget at once and could push its own connection over it.
    if ((bits(c) & kWide) && !loop_.memory_pressure()) {
      n = read_wide(c, id, &want);
    } else {
      n = ::recv(c.fd(), pool.address(id), cap, 0);
      if (n > 0) {
        if (static_cast<uint32_t>(n) == cap) bits(c) |= kWide;  // a bulk stream, it seems
        loop_.on_received(c, Buffer(&pool, id, 0, static_cast<uint32_t>(n)));
      } else {
        if (n < 0) n = -errno;
        pool.release_id(id);
      }
    }
    if (n > 0) {
      // A short read drained the socket; new data brings a new edge. After RDHUP we read on
      // to see the EOF, since the FIN's edge has already been spent.
      if (static_cast<size_t>(n) < want && !(bits(c) & kHup)) {
        bits(c) &= ~kReadable;
        return;
      }
      continue;
    }
    if (n == 0) {
      bits(c) &= ~kReadable;
      loop_.on_peer_eof(c);
      return;
    }
    if (n == -EINTR) continue;
    if (n == -EAGAIN || n == -EWOULDBLOCK) {
      bits(c) &= ~kReadable;
      return;
    }
    loop_.on_io_error(c, static_cast<int>(-n));
    return;
  }
  defer(
      tag(kConn, c.id().gen, c.id().slot));  // still readable: continue next turn, after the others
}

// A bulk stream's read: readv into a chain of up to kWideBuffers pool buffers (*want = their
// room). A read shorter than one buffer ends the bulk mode: small messages cost one buffer.
ssize_t EpollBackend::read_wide(Connection& c, uint32_t first_id, size_t* want) {
  BufferPool& pool = loop_.buffers();
  const uint32_t cap = pool.buffer_size();
  uint32_t ids[kWideBuffers];
  iovec iov[kWideBuffers];
  ids[0] = first_id;
  uint32_t count = 1;
  while (count < kWideBuffers && (ids[count] = pool.acquire_id()) != BufferPool::kInvalid) ++count;
  for (uint32_t i = 0; i < count; ++i) iov[i] = {pool.address(ids[i]), cap};
  *want = static_cast<size_t>(count) * cap;
  ssize_t n = ::readv(c.fd(), iov, static_cast<int>(count));
  const ssize_t result = n >= 0 ? n : -errno;
  size_t left = n > 0 ? static_cast<size_t>(n) : 0;
  if (n > 0 && left < cap) bits(c) &= ~kWide;
  // Hand the filled buffers over in order, with the flushes held back so that the chain goes
  // out in one sendmsg; unfilled ones go straight back.
  delivering_ = &c;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = static_cast<uint32_t>(std::min<size_t>(left, cap));
    left -= len;
    Buffer b(&pool, ids[i], 0, len);
    if (len > 0 && !c.closed()) loop_.on_received(c, std::move(b));
  }
  delivering_ = nullptr;
  if (n > 0 && !c.closed() && !loop_.queue(c).empty()) flush(c);
  return result;
}

void EpollBackend::do_accept(Listener& l) {
  for (uint32_t i = 0; i < loop_.config().accept_batch; ++i) {
    if (!l.accepting) return;
    const int flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    int fd = fd_pressure::active(loop_.now_ms()) ? fd_pressure::accept_serialized(l.fd, flags)
                                                 : ::accept4(l.fd, nullptr, nullptr, flags);
    if (fd >= 0) {
      loop_.on_accepted(l, fd);
      continue;
    }
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EINTR) continue;
    // ET: a new arrival brings a new edge, so stopping here cannot strand a connection.
    if (!loop_.on_accept_error(l, err)) return;
  }
  if (l.accepting) defer(tag(kListener, 0, l.index));
}

}  // namespace reactor
