// EventLoop: the loop's phases, connection slots, accept policy (limits, EMFILE), close and drain.
#include "reactor/event_loop.h"
#include "reactor/src/io_backend.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "reactor/admission.h"
#include "reactor/clock.h"
#include "reactor/handler.h"
#include "reactor/log.h"
#include "reactor/src/completion_tag.h"
#include "reactor/src/fd_pressure.h"

namespace reactor {

void ConnectionHandler::on_peer_closed(Connection& c) {
  c.close();
}

namespace {
std::unique_ptr<IoBackend> make_configured_backend(LoopPort port, void* context) {
  auto* out = static_cast<std::pair<std::string, std::string>*>(context);
  return make_backend(port.config().backend, port, &out->first, &out->second);
}
}  // namespace

EventLoop::EventLoop(const LoopConfig& config) : EventLoop(config, LoopHooks{}) {}

EventLoop::EventLoop(const LoopConfig& config, const LoopHooks& hooks)
    : config_(config),
      hooks_(hooks),
      start_ms_(read_clock()),
      now_ms_(start_ms_),
      pool_(config.buffer_size, config.max_buffers),
      slices_(pool_),
      timers_(start_ms_, 10) {
  if (hooks.make_backend != nullptr) {
    backend_ = hooks.make_backend(LoopPort(*this), hooks.context);
    if (!backend_) throw std::runtime_error("the backend factory made no backend");
  } else {
    std::pair<std::string, std::string> error_note;
    backend_ = make_configured_backend(LoopPort(*this), &error_note);
    if (!backend_) throw std::runtime_error(error_note.first);
    backend_note_ = std::move(error_note.second);
  }
  tasks_ = std::make_unique<TaskQueue>(*this);
  backend_->watch(tasks_->fd(), tasks_.get());
  accept_resume_.loop = this;
  accept_resume_.set_callback(&EventLoop::on_accept_resume);
  drain_deadline_.loop = this;
  drain_deadline_.set_callback(&EventLoop::on_drain_deadline);
  trim_timer_.loop = this;
  trim_timer_.set_callback(&EventLoop::on_trim_timer);
  after_turn_memory();  // gauges and pressure_mark_ from the config
  fd_pressure::add_spare();
  if (config_.admission) admission_index_ = config_.admission->attach(this);
}

BackendKind EventLoop::backend_kind() const {
  return backend_->kind();
}

void EventLoop::watch(int fd, FdWatcher* watcher) {
  affinity_.assert_owner();
  backend_->watch(fd, watcher);
}

void EventLoop::unwatch(int fd, FdWatcher* watcher) {
  affinity_.assert_owner();
  backend_->unwatch(fd, watcher);
}

EventLoop::~EventLoop() {
  // Siblings stop hearing of us; newcomers still waiting for a unit are let go.
  destroying_ = true;
  if (config_.admission) config_.admission->detach(admission_index_);
  close_parked();
  // Accept nothing more while the closes below are reaped.
  for (auto& l : listeners_) {
    if (l->fd >= 0 && l->accepting) backend_->stop_accept(*l);
  }
  // Abort whatever is still open so handlers free their state; then drop the backend.
  for_each_connection([this](Connection& c) { close_now(c, false); });
  // A completion backend finishes closes asynchronously: reap until every connection has
  // reported on_closed (so handlers free their state), bounded in case the kernel stalls.
  for (int turn = 0; turn < 200 && live_ > closed_this_turn_.size(); ++turn) backend_->poll(10);
  free_closed();
  for (auto& l : listeners_) {
    if (l->fd >= 0) {
      if (l->accepting) backend_->stop_accept(*l);
      l->close_fd();
    }
  }
  if (tasks_) backend_->unwatch(tasks_->fd(), tasks_.get());
  accept_resume_.cancel();
  drain_deadline_.cancel();
  trim_timer_.cancel();
  for (auto& chunk : chunks_) {
    for (uint32_t i = 0; i < kChunk; ++i) chunk[i].cancel();
  }
  backend_.reset();
  fd_pressure::remove_spare();
}

void EventLoop::run() {
  affinity_.assert_owner();
  running_ = true;
  // One clock read per turn: the backend refreshes the time when its wait returns
  // (on_wakeup); only a turn that did not wait reads it here.
  now_ms_ = read_clock();
  while (running_ && !stop_requested_.load(std::memory_order_relaxed)) {
    woke_ = false;
    backend_->poll(input_ready_.empty() ? timers_.next_timeout_ms(now_ms_) : 0);
    if (!woke_) now_ms_ = read_clock();
    timers_.advance(now_ms_);
    if (!input_ready_.empty()) deliver_ready_input();
    if (!abort_queue_.empty()) run_abort_queue();
    free_closed();
    if ((++turns_ & 15) == 0 || pressure_) after_turn_memory();
    if (draining_ && live_ == 0) running_ = false;
  }
  running_ = false;
}

void EventLoop::post(TaskQueue::Task task) {
  tasks_->post(std::move(task));
}

void EventLoop::request_stop() {
  stop_requested_.store(true, std::memory_order_relaxed);
  tasks_->post([](EventLoop&) {});  // wake the loop so it sees the flag
}

Connection* EventLoop::find(ConnectionId id) {
  if (id.slot >= slots_used_) return nullptr;
  Connection& c = chunks_[id.slot / kChunk][id.slot % kChunk];
  // Generations are kept in the completion tag's width, so ids from tags and from
  // Connection::id() compare alike (no second, wider copy to disagree after a wrap).
  if (c.gen_ != (id.gen & CompletionTag::kGenMask) || c.fd_ < 0) return nullptr;
  return &c;
}

void EventLoop::for_each_connection(const std::function<void(Connection&)>& fn) {
  for (uint32_t s = 0; s < slots_used_; ++s) {
    Connection& c = chunks_[s / kChunk][s % kChunk];
    if (c.fd_ >= 0 && !c.closed()) fn(c);
  }
}

Listener& EventLoop::add_listener(int fd, ConnectionHandler* handler, std::string protocol) {
  affinity_.assert_owner();
  // 0xffff marks a client connection's listener index (Connection::listener_).
  if (listeners_.size() >= 0xffff) throw std::runtime_error("too many listeners on one loop");
  auto l = std::make_unique<Listener>();
  l->fd = fd;
  l->index = static_cast<uint16_t>(listeners_.size());
  l->handler = handler;
  l->protocol = std::move(protocol);
  l->address = bound_address(fd);
  listeners_.push_back(std::move(l));
  Listener& ref = *listeners_.back();
  backend_->start_accept(ref);
  return ref;
}

Connection& EventLoop::alloc_connection(int fd, ConnectionHandler* handler) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    if (slots_used_ % kChunk == 0) {
      chunks_.push_back(std::make_unique<Connection[]>(kChunk));
      for (uint32_t i = 0; i < kChunk; ++i)
        chunks_.back()[i].gen_ = config_.initial_generation & CompletionTag::kGenMask;
    }
    slot = slots_used_++;
  }
  Connection& c = chunks_[slot / kChunk][slot % kChunk];
  c.loop_ = this;
  c.handler_ = handler;
  c.user_ = nullptr;
  c.fd_ = fd;
  c.slot_ = slot;
  c.flags_ = 0;
  c.listener_ = 0xffff;
  c.held_ = 0;
  c.admit_to_ = 0xffff;
  c.last_active_ms_ = rel_now();
  c.set_callback(&EventLoop::on_conn_timer);
  ++live_;
  stats_.active.add();
  return c;
}

void EventLoop::on_accepted(Listener& l, int fd) {
  if (fd_pressure::active(now_ms_) && !fd_pressure::keep_accepted(fd)) {
    stats_.rejected_emfile.add();  // it became the spare another loop's shed had given up
    return;
  }
  // Accepted while the drain begins (an io_uring accept completing after the listener was
  // closed, say): the client's connection is established and it is waiting for us. Serve it
  // like the others the drain lets finish, never close it unanswered.
  if (config_.access && !config_.access->empty()) {
    sockaddr_storage peer;
    socklen_t len = sizeof peer;
    const auto* sa = reinterpret_cast<const sockaddr*>(&peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 &&
        !(config_.proxy_sources && config_.proxy_sources->matches_any(sa)) &&
        !config_.access->permits(sa)) {
      stats_.denied.add();
      linger lg{1, 0};  // reset at once: nothing is exchanged, no TIME_WAIT is kept here
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(fd);
      return;
    }
  }
  if (config_.admission) {
    if (!config_.admission->try_take(config_.max_conns)) {
      admit_when_full(l, fd);
      return;
    }
  } else if (config_.open_connections) {
    config_.open_connections->fetch_add(1, std::memory_order_relaxed);
  }
  serve_accepted(l, fd);
}

void EventLoop::serve_accepted(Listener& l, int fd) {
  if (!l.address.is_unix()) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  Connection& c = alloc_connection(fd, l.handler);
  c.listener_ = l.index;
  stats_.accepted.add();
  backend_->add_connection(c);
  open_connection(c);
}

// The server is full. An idle keep-alive connection makes room (as nginx reuses them): this
// loop's own longest-idle one, else a sibling's, asked by index through post(). The newcomer
// waits here, accepted but not served, until that close completes and hands its unit over,
// so the number served never exceeds --max-conns even for a moment.
void EventLoop::admit_when_full(Listener& l, int fd) {
  if (!draining_ && admission_index_ != Admission::kNone) {
    parked_.push_back(Parked{fd, l.index});
    if (reclaim_for(admission_index_, /*claimed=*/false)) {
      hold_accepts();
      return;
    }
    uint32_t peer = config_.admission->claim_peer(admission_index_);
    uint32_t me = admission_index_;
    if (peer != Admission::kNone && me != Admission::kNone &&
        config_.admission->post(peer, [me](EventLoop& p) {
          if (!p.reclaim_for(me, /*claimed=*/true))
            p.config_.admission->post(me, [](EventLoop& l) { l.reject_parked(); });
        })) {
      hold_accepts();
      return;
    }
    parked_.pop_back();
  }
  stats_.rejected_max_conns.add();
  ::close(fd);
}

bool EventLoop::reclaim_for(uint32_t requester, bool claimed) {
  while (lru_head_ != UINT32_MAX) {
    Connection& c = slot(lru_head_);
    c.clear(Connection::kReclaimable);
    lru_unlink(c, claimed);
    claimed = false;  // a claim covers one entry; a stale one skipped here was counted
    if (c.closed() || !c.wq_.empty()) continue;
    stats_.reclaimed.add();
    c.admit_to_ = static_cast<uint16_t>(requester);
    close_now(c, false);  // nothing queued, nothing expected: a plain close
    return true;
  }
  // A sibling's claim that found the list empty was never used: it is given back. (One used
  // up on a stale entry above is not: that entry was counted and is gone.)
  if (claimed && config_.admission) config_.admission->add_claimable(admission_index_, 1);
  return false;
}

// A reclaimed connection's close completed: its unit goes to the newcomer it was closed for.
void EventLoop::hand_over_unit(uint32_t requester) {
  if (requester == admission_index_) {
    admit_parked();
    return;
  }
  if (destroying_ || !config_.admission->post(requester, [](EventLoop& l) { l.admit_parked(); }))
    config_.admission->give_back();
}

// While a newcomer waits for a unit, this loop accepts no more: the next ones wait in the
// kernel's accept queue (costing no descriptor here) instead of piling up accepted, so the
// descriptors open never exceed --max-conns by more than the one waiting per loop.
void EventLoop::hold_accepts() {
  if (parked_head_ == parked_.size() || accepts_held_) return;
  accepts_held_ = true;
  for (auto& l : listeners_) {
    if (l->fd >= 0 && l->accepting) backend_->stop_accept(*l);
  }
}

void EventLoop::release_accepts() {
  if (!accepts_held_ || parked_head_ != parked_.size()) return;
  accepts_held_ = false;
  if (draining_) return;
  for (auto& l : listeners_) {
    if (l->fd >= 0 && !l->accepting) backend_->start_accept(*l);
  }
}

void EventLoop::admit_parked() {
  if (parked_head_ == parked_.size()) {  // nobody waits any more (drain closed them)
    config_.admission->give_back();
    return;
  }
  Parked p = parked_[parked_head_++];
  if (parked_head_ == parked_.size()) parked_.clear(), parked_head_ = 0;
  release_accepts();
  if (draining_ || p.listener >= listeners_.size()) {
    ::close(p.fd);
    config_.admission->give_back();
    return;
  }
  serve_accepted(*listeners_[p.listener], p.fd);
}

void EventLoop::reject_parked() {
  if (parked_head_ == parked_.size()) return;
  ::close(parked_[parked_head_++].fd);
  if (parked_head_ == parked_.size()) parked_.clear(), parked_head_ = 0;
  stats_.rejected_max_conns.add();
  release_accepts();
}

void EventLoop::close_parked() {
  for (size_t i = parked_head_; i < parked_.size(); ++i) {
    ::close(parked_[i].fd);
    stats_.rejected_max_conns.add();
  }
  parked_.clear();
  parked_head_ = 0;
  accepts_held_ = false;  // only at drain and exit: the listeners are closing anyway
}

void EventLoop::open_connection(Connection& c) {
  c.set(Connection::kOpened);
  c.set(Connection::kInCallback);
  c.handler_->on_open(c);
  c.clear(Connection::kInCallback);
  if (c.closed()) return;
  flush_after_callback(c);
  if (c.closed()) return;
  // Not when on_open paused it (pause_reading(), or a reply above the high-water mark).
  if (!(c.flags_ & (Connection::kClosing | Connection::kPaused | Connection::kUserPaused)))
    backend_->start_receive(c);
  arm_idle_timer(c);
  if (draining_) c.handler_->on_drain(c);
}

Connection* EventLoop::connect(const SocketAddress& addr, ConnectionHandler* handler) {
  affinity_.assert_owner();
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  if (!addr.is_unix()) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  // A client connection is ours to make: it counts, but is never refused by --max-conns.
  if (config_.admission)
    config_.admission->try_take(0);
  else if (config_.open_connections)
    config_.open_connections->fetch_add(1, std::memory_order_relaxed);
  Connection& c = alloc_connection(fd, handler);
  c.set(Connection::kClient);
  c.set(Connection::kConnecting);
  backend_->add_connection(c);
  backend_->connect(c, addr.get(), addr.len);
  return &c;
}

void EventLoop::on_connected(Connection& c, int err) {
  if (c.closed()) return;  // aborted meanwhile: already reported
  c.clear(Connection::kConnecting);
  if (err != 0) {
    c.set(Connection::kInCallback);
    c.handler_->on_connect_failed(c, err);
    c.clear(Connection::kInCallback);
    c.set(Connection::kOpened);  // on_close is owed after on_connect_failed
    if (!c.closed()) close_now(c, false);
    return;
  }
  c.last_active_ms_ = rel_now();
  open_connection(c);
}

bool EventLoop::on_accept_error(Listener& l, int err) {
  switch (err) {
    case EMFILE:
    case ENFILE: {
      // Linux reserves the descriptor before it looks at the queue, so EMFILE does not even
      // say a connection is waiting. Use a spare descriptor to find out: shed the connection
      // at the head of the queue (counted), or learn that the queue is empty and stop trying
      // until the listener reports a new arrival - retrying would spin.
      const int shed = fd_pressure::shed(l.fd, now_ms_);
      if (shed != 0) stats_.rejected_emfile.add();
      if (shed < 0) pause_accept(l);  // no spare: back off and let closes free descriptors
      return shed > 0;
    }
    case ENOBUFS:
    case ENOMEM:
      pause_accept(l);
      return false;
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case EINTR:
      return true;  // transient, per connection: keep accepting
    default:
      REACTOR_LOG_WARN("accept on %s: %s", l.address.to_string().c_str(), strerror(err));
      pause_accept(l);
      return false;
  }
}

void EventLoop::pause_accept(Listener& l) {
  if (!l.accepting) return;
  backend_->stop_accept(l);
  stats_.accept_pauses.add();
  if (!accept_resume_.armed()) timers_.schedule(&accept_resume_, 100);
}

void EventLoop::on_accept_resume(TimerNode* node) {
  EventLoop* self = static_cast<AcceptResumeTimer*>(node)->loop;
  // Accepts held for a waiting newcomer resume when it is admitted (release_accepts).
  if (self->draining_ || self->accepts_held_) return;
  for (auto& l : self->listeners_) {
    if (l->fd >= 0 && !l->accepting) self->backend_->start_accept(*l);
  }
}

void EventLoop::on_received(Connection& c, Buffer&& data) {
  stats_.bytes_in.add(data.size());
  c.last_active_ms_ = rel_now();
  c.clear(Connection::kQuiet);
  if (c.flags_ & (Connection::kShutWr | Connection::kClosing | Connection::kUserPaused |
                  Connection::kInputHeld)) {
    if (c.flags_ & (Connection::kShutWr | Connection::kClosing)) return;  // lingering: discard
    hold_input(c, std::move(data));  // arrived after pause_reading(): waits for the resume
    return;
  }
  dispatch_data(c, std::move(data));
}

void EventLoop::dispatch_data(Connection& c, Buffer&& data) {
  c.set(Connection::kInCallback);
  c.handler_->on_data(c, std::move(data));
  c.clear(Connection::kInCallback);
  // A protocol may keep what it received (a partial request): that grows memory too.
  if (over_pressure_mark()) check_memory(&c);
  flush_after_callback(c);
}

void EventLoop::on_peer_eof(Connection& c) {
  if (c.has(Connection::kPeerEof)) return;
  if (!c.has(Connection::kShutWr) && !c.has(Connection::kClosing) && hold_end(c, 0)) return;
  c.set(Connection::kPeerEof);
  if (c.has(Connection::kShutWr)) {  // both FINs exchanged: done
    close_now(c, false);
    return;
  }
  if (c.has(Connection::kClosing)) {
    finish_close_if_ready(c);
    return;
  }
  c.set(Connection::kInCallback);
  c.handler_->on_peer_closed(c);
  c.clear(Connection::kInCallback);
  flush_after_callback(c);
}

void EventLoop::on_io_error(Connection& c, int err) {
  if (c.closed()) return;
  if (hold_end(c, err)) return;  // received bytes go first
  REACTOR_LOG_DEBUG("connection fd %d: %s", c.fd_, strerror(err));
  stats_.resets.add();
  c.set(Connection::kInCallback);
  c.handler_->on_error(c, err);
  c.clear(Connection::kInCallback);
  close_now(c, false);
}

void EventLoop::flush_after_callback(Connection& c) {
  if (c.flags_ & (Connection::kClosed | Connection::kAbortPending)) {
    if (!c.closed()) close_now(c, true);  // shed by the memory budget during its callback
    return;
  }
  if (!c.wq_.empty()) backend_->flush(c);
  if (c.flags_ & (Connection::kClosing | Connection::kFinWanted)) finish_close_if_ready(c);
}

bool EventLoop::pausable(const Connection& c) const {
  // A client's unsent requests are its own business: pausing its reads of the replies could
  // deadlock it with a server that pauses too, so only served connections are paced.
  return !c.has(Connection::kPaused) && !c.has(Connection::kClient) &&
         !c.has(Connection::kPeerEof) && !c.has(Connection::kClosing) &&
         !c.has(Connection::kFinPending);
}

// A paused connection with nothing left to send will never be resumed by its queue draining,
// and a peer that has finished sending will not unblock it either: it would sit until the
// idle timeout holding what it received (an upload cut short, say). Read on to the EOF
// instead; what is left is bounded by the socket's receive buffer, and the protocol then
// sees the end and closes.
void EventLoop::on_peer_fin_while_paused(Connection& c) {
  if (c.closed() || !c.has(Connection::kPaused) || !c.wq_.empty() || c.has(Connection::kClosing) ||
      c.has(Connection::kUserPaused))
    return;
  c.set(Connection::kFinPending);
  c.clear(Connection::kPaused);
  c.clear(Connection::kMemoryPaused);
  restart_input(c);
}

void EventLoop::pause_reading(Connection& c, bool for_memory) {
  c.set(Connection::kPaused);
  if (for_memory) {
    c.set(Connection::kMemoryPaused);
    stats_.memory_pressure_pauses.add();
    // A paused peer cannot show it is gone (its FIN waits behind the bytes we do not read):
    // give up on it if it makes no progress while memory stays short (on_conn_timer).
    if (!c.has(Connection::kShutWr)) timers_.schedule(&c, kMemoryPauseLimitMs);
  } else {
    stats_.backpressure_pauses.add();
  }
  backend_->stop_receive(c);
}

void EventLoop::resume_reading(Connection& c) {
  c.clear(Connection::kPaused);
  c.clear(Connection::kMemoryPaused);
  if (c.has(Connection::kClosing)) return;
  if (!c.has(Connection::kUserPaused)) restart_input(c);
  // Sends from on_writable are appended only; the backend's flush loop picks them up.
  c.set(Connection::kInCallback);
  c.handler_->on_writable(c);
  c.clear(Connection::kInCallback);
  if (c.has(Connection::kAbortPending)) close_now(c, true);
}

uint64_t EventLoop::resume_mark(const Connection& c) const {
  // Paused for memory while memory is still short: resume only once most of what it holds
  // has gone out, so a slow reader does not bounce between paused and reading.
  if (pressure_ && c.has(Connection::kMemoryPaused))
    return std::min<uint64_t>(config_.low_water, heavy_mark() / 2);
  return config_.low_water;
}

void EventLoop::maybe_pause(Connection& c) {
  if (c.wq_.bytes() > config_.high_water) {
    if (pausable(c))
      pause_reading(c, false);
    else if (!(c.flags_ & (Connection::kPaused | Connection::kClosing)))
      c.set(Connection::kWantWritable);  // not paced (a client, a half-closed peer), but told
  }
  if (over_pressure_mark()) check_memory(&c);
}

void EventLoop::on_sent(Connection& c, size_t n) {
  c.wq_.consume(slices_, n);
  stats_.bytes_out.add(n);
  stats_.write_queue_bytes.sub(n);
  c.last_active_ms_ = rel_now();
  if (c.flags_ & (Connection::kPaused | Connection::kWantWritable)) {
    if (c.has(Connection::kPaused)) {
      if (c.wq_.bytes() <= resume_mark(c)) resume_reading(c);
    } else if (c.wq_.bytes() <= config_.low_water) {
      c.clear(Connection::kWantWritable);
      // Not owed to a connection that is closing: it asked for no more (or is being shed).
      if (!(c.flags_ & (Connection::kClosing | Connection::kAbortPending))) {
        c.set(Connection::kInCallback);
        c.handler_->on_writable(c);
        c.clear(Connection::kInCallback);
      }
    }
  }
  if (c.flags_ & (Connection::kClosing | Connection::kFinWanted)) finish_close_if_ready(c);
}

void EventLoop::finish_close_if_ready(Connection& c) {
  if (c.has(Connection::kFinWanted) && c.wq_.empty() && !c.closed()) {
    // shutdown_write(): the queue is out, so our FIN goes; reading carries on.
    c.clear(Connection::kFinWanted);
    if (backend_->shutdown_write(c) != 0) {
      close_now(c, false);
      return;
    }
    c.set(Connection::kFinSent);
  }
  if (!c.has(Connection::kClosing) || c.closed() || !c.wq_.empty()) return;
  if (c.has(Connection::kPeerEof)) {
    close_now(c, false);  // the peer closed first: our close is the passive one
    return;
  }
  if (c.has(Connection::kShutWr)) return;
  // We close first: send FIN, keep reading (and discarding) until the peer's FIN so that
  // unread bytes never turn our close into an RST that could destroy the reply we just sent.
  if (!c.has(Connection::kFinSent) && backend_->shutdown_write(c) != 0) {
    close_now(c, false);
    return;
  }
  c.set(Connection::kShutWr);
  c.clear(Connection::kPaused);
  c.clear(Connection::kMemoryPaused);
  c.clear(Connection::kUserPaused);
  backend_->start_receive(c);
  timers_.schedule(&c, config_.linger_ms);
}

void EventLoop::lru_push(Connection& c) {
  c.lru_next_ = UINT32_MAX;
  c.lru_prev_ = lru_tail_;
  if (lru_tail_ != UINT32_MAX)
    slot(lru_tail_).lru_next_ = c.slot_;
  else
    lru_head_ = c.slot_;
  lru_tail_ = c.slot_;
  stats_.reclaimable.add();
  if (config_.admission) config_.admission->add_claimable(admission_index_, 1);
}

// `claimed`: a sibling already took this entry's claim (Admission::claim_peer).
void EventLoop::lru_unlink(Connection& c, bool claimed) {
  if (c.lru_prev_ != UINT32_MAX)
    slot(c.lru_prev_).lru_next_ = c.lru_next_;
  else if (lru_head_ == c.slot_)
    lru_head_ = c.lru_next_;
  if (c.lru_next_ != UINT32_MAX)
    slot(c.lru_next_).lru_prev_ = c.lru_prev_;
  else if (lru_tail_ == c.slot_)
    lru_tail_ = c.lru_prev_;
  c.lru_prev_ = c.lru_next_ = UINT32_MAX;
  stats_.reclaimable.sub();
  if (config_.admission && !claimed) config_.admission->add_claimable(admission_index_, -1);
}

void EventLoop::close_now(Connection& c, bool reset) {
  if (c.closed()) return;
  if (c.has(Connection::kConnecting) && !c.has(Connection::kOpened)) {
    // Aborted before the connect finished: the handler still hears of it, then on_close.
    c.clear(Connection::kConnecting);
    c.set(Connection::kOpened);
    c.set(Connection::kInCallback);
    c.handler_->on_connect_failed(c, ECANCELED);
    c.clear(Connection::kInCallback);
  }
  if (c.has(Connection::kReclaimable)) {
    c.clear(Connection::kReclaimable);
    lru_unlink(c);
  }
  c.cancel();  // idle/linger timer
  drop_held_input(c, /*keep_eof=*/false);
  if (reset) backend_->reset_on_close(c);
  c.set(Connection::kClosed);
  backend_->close(c);  // calls on_closed() now or once in-flight operations are cancelled
}

void EventLoop::release_queue(Connection& c) {
  if (c.wq_.empty()) return;
  stats_.write_queue_bytes.sub(c.wq_.bytes());
  c.wq_.clear(slices_);
}

void EventLoop::on_closed(Connection& c) {
  // Whatever is still queued goes now: no operation refers to the connection any more.
  release_queue(c);
  if (c.has(Connection::kOpened)) {
    c.set(Connection::kInCallback);
    c.handler_->on_close(c);
    c.clear(Connection::kInCallback);
  }
  if (c.held_ > 0) {  // the protocol did not give it all back: the connection is gone anyway
    external_held_ -= std::min(external_held_, c.held_);
    c.held_ = 0;
    update_pressure_mark();
  }
  stats_.closed.add();
  stats_.active.sub();
  if (c.admit_to_ != 0xffff && config_.admission) {
    hand_over_unit(c.admit_to_);  // reclaimed for a waiting newcomer: the unit is theirs
    c.admit_to_ = 0xffff;
  } else if (config_.admission) {
    config_.admission->give_back();
  } else if (config_.open_connections) {
    config_.open_connections->fetch_sub(1, std::memory_order_relaxed);
  }
  closed_this_turn_.push_back(c.slot_);
}

void EventLoop::on_held_bytes(Connection& c, int64_t delta) {
  if (delta < 0) {
    external_held_ -= std::min<uint64_t>(external_held_, static_cast<uint64_t>(-delta));
    update_pressure_mark();
    return;
  }
  external_held_ += static_cast<uint64_t>(delta);
  external_peak_ = std::max(external_peak_, external_held_);
  update_pressure_mark();
  if (over_pressure_mark()) check_memory(&c);
}

void EventLoop::free_closed() {
  for (uint32_t slot : closed_this_turn_) {
    Connection& c = chunks_[slot / kChunk][slot % kChunk];
    c.fd_ = -1;
    c.gen_ = CompletionTag::next_gen(c.gen_);
    c.handler_ = nullptr;
    c.user_ = nullptr;
    free_slots_.push_back(slot);
    --live_;
  }
  closed_this_turn_.clear();
}

void EventLoop::arm_idle_timer(Connection& c) {
  uint64_t timeout = config_.idle_timeout_ms;
  if (draining_ && (timeout == 0 || timeout > config_.drain_quiet_ms))
    timeout = config_.drain_quiet_ms;
  if (timeout > 0 && !c.has(Connection::kShutWr)) timers_.schedule(&c, timeout);
}

void EventLoop::on_conn_timer(TimerNode* node) {
  Connection& c = *static_cast<Connection*>(node);
  EventLoop& loop = *c.loop_;
  if (c.closed()) return;
  if (c.has(Connection::kShutWr)) {  // linger expired: the peer never sent its FIN
    loop.close_now(c, false);
    return;
  }
  uint32_t idle = loop.rel_now() - c.last_active_ms_;
  if (c.has(Connection::kMemoryPaused) && loop.pressure_) {
    if (idle >= kMemoryPauseLimitMs) {
      loop.shed(c, "paused for memory without progress", nullptr);
      return;
    }
    loop.timers_.schedule(&c, kMemoryPauseLimitMs - idle);
    return;
  }
  uint64_t timeout = loop.config_.idle_timeout_ms;
  if (loop.draining_ && (timeout == 0 || timeout > loop.config_.drain_quiet_ms))
    timeout = loop.config_.drain_quiet_ms;
  if (timeout == 0) return;
  if (idle < timeout) {
    loop.timers_.schedule(&c, timeout - idle);  // activity since arming: lazily re-arm
    return;
  }
  if (!loop.draining_) loop.stats_.idle_timeouts.add();
  if (!c.wq_.empty()) {
    if (loop.draining_) {  // a slow reader still gets its bytes, until the drain deadline
      loop.timers_.schedule(&c, timeout);
      return;
    }
    loop.close_now(c, true);  // the peer has not read for a whole timeout: give up on it
  } else if (loop.config_.reset_on_idle_timeout && !loop.draining_) {
    loop.close_now(c, true);
  } else {
    c.close();
  }
}

void EventLoop::close_listeners() {
  for (auto& l : listeners_) {
    if (l->fd < 0) continue;
    if (l->accepting) backend_->stop_accept(*l);
    l->close_fd();  // under the listener's lock: /metrics on a sibling loop reads the fd
    if (l->address.is_unix() && l->unlink_on_close) ::unlink(l->address.unix_path().c_str());
  }
}

void EventLoop::begin_drain(uint64_t drain_timeout_ms) {
  affinity_.assert_owner();
  if (draining_) return;
  draining_ = true;
  close_listeners();
  close_parked();
  accept_resume_.cancel();
  for_each_connection([this](Connection& c) {
    if (c.has(Connection::kClosing)) return;
    c.set(Connection::kInCallback);
    c.handler_->on_drain(c);
    c.clear(Connection::kInCallback);
    flush_after_callback(c);
    if (!c.closed() && !c.has(Connection::kShutWr)) arm_idle_timer(c);
  });
  // 0 = no grace at all: whatever is still open is aborted now (not "wait forever").
  if (drain_timeout_ms > 0)
    timers_.schedule(&drain_deadline_, drain_timeout_ms);
  else
    on_drain_deadline(&drain_deadline_);
}

void EventLoop::on_drain_deadline(TimerNode* node) {
  EventLoop* self = static_cast<DrainDeadline*>(node)->loop;
  size_t left = self->live_;
  if (left > 0) REACTOR_LOG_WARN("drain timeout: aborting %zu connection(s)", left);
  self->for_each_connection([self](Connection& c) { self->close_now(c, false); });
}

}  // namespace reactor
