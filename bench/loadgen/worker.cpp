// Worker: connection lifecycle, request accounting, failure classification, run phases.
#include "bench/loadgen/worker.h"

#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

#include "bench/loadgen/pacer.h"
#include "reactor/clock.h"

namespace reactord::bench {
namespace {

uint64_t ns_to_ms_ceil(uint64_t ns) {
  return (ns + 999999) / 1000000;
}

}  // namespace

Worker::Worker(const WorkerConfig& cfg, const Protocol& proto, SharedState& shared)
    : cfg_(cfg), proto_(proto), shared_(shared) {
  const Options& o = *cfg_.options;
  switch (o.mode()) {
    case Mode::kClosed:
      driver_ = make_closed_loop_driver();
      break;
    case Mode::kOpen:
      open_loop_ = true;
      driver_ = make_open_loop_driver(cfg_.rate, cfg_.phase_ns);
      break;
    case Mode::kChurn:
      driver_ = make_churn_driver();
      break;
  }
  conns_ = std::make_unique<ClientConn[]>(static_cast<size_t>(cfg_.conns));
  for (int i = 0; i < cfg_.conns; ++i) {
    ClientConn& cc = conns_[static_cast<size_t>(i)];
    cc.worker = this;
    cc.index = static_cast<uint32_t>(i);
    // Start each slot at a different payload window so neighbours never send identical bytes.
    cc.next_seq = static_cast<uint64_t>(cfg_.index) * 1000003u + static_cast<uint64_t>(i) * 7919u;
    cc.set_callback(&Worker::on_slot_timer);
  }
  // Batches of small requests are copied together and sent once; big requests go one by one
  // straight from the pattern (the write queue copies them anyway).
  size_t batch = static_cast<size_t>(o.pipeline) * proto_.request_size();
  if (batch <= 256 * 1024) scratch_.resize(batch);
  connect_queue_.resize(static_cast<size_t>(cfg_.conns));
  if (cfg_.connect_rate > 0) connect_interval_ns_ = static_cast<uint64_t>(1e9 / cfg_.connect_rate);
  end_timer_.worker = this;
  end_timer_.set_callback(&Worker::on_end_timer);
  warmup_timer_.worker = this;
  warmup_timer_.set_callback(&Worker::on_warmup_timer);
}

Worker::~Worker() = default;

void Worker::run() {
  try {
    reactor::LoopConfig lc;
    lc.idle_timeout_ms = 0;  // a load generator never gives up on a quiet server by itself
    // Never stop reading replies because our own requests are still queued: with big
    // pipelined requests both sides would wait for each other. What we queue is bounded by
    // --pipeline x request size anyway.
    lc.high_water = uint64_t{1} << 62;
    lc.low_water = uint64_t{1} << 61;
    // The pacer's timerfd would otherwise fire up to 50 us late (the default timer slack),
    // and that lag would show up in the corrected latency.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    reactor::EventLoop loop(lc);
    {
      std::lock_guard<std::mutex> lock(loop_mu_);
      loop_ = &loop;
      // A stop asked for before the loop existed must not be lost.
      if (stop_requested_.load(std::memory_order_relaxed)) loop.request_stop();
    }
    {
      Pacer pacer(loop, *this);
      pacer_ = &pacer;
      now_ns_ = reactor::monotonic_ns();
      stats_.start_ns = now_ns_;
      if (cfg_.warmup_end_ns > now_ns_)
        loop.timers().schedule(&warmup_timer_, ns_to_ms_ceil(cfg_.warmup_end_ns - now_ns_));
      if (cfg_.end_ns > 0)
        loop.timers().schedule(&end_timer_,
                               cfg_.end_ns > now_ns_ ? ns_to_ms_ceil(cfg_.end_ns - now_ns_) : 0);
      unresolved_ = cfg_.conns;
      driver_->start(*this);
      loop.run();
      if (stats_.end_ns == 0) stats_.end_ns = reactor::monotonic_ns();
      // From here on connections close because we tear down: nothing is an error any more.
      stopping_ = true;
      end_timer_.cancel();
      warmup_timer_.cancel();
      for (int i = 0; i < cfg_.conns; ++i) conns_[static_cast<size_t>(i)].cancel();
      pacer_ = nullptr;
    }
    std::lock_guard<std::mutex> lock(loop_mu_);
    loop_ = nullptr;
    // The loop's destructor aborts what is still open; on_close sees stopping_.
  } catch (const std::exception& e) {
    failure_ = e.what();
    std::lock_guard<std::mutex> lock(loop_mu_);
    loop_ = nullptr;
  }
  done_.store(true, std::memory_order_release);
}

void Worker::request_stop() {
  std::lock_guard<std::mutex> lock(loop_mu_);
  stop_requested_.store(true, std::memory_order_relaxed);
  if (loop_) loop_->request_stop();
}

ClientConn* Worker::slot_of(reactor::Connection& c) {
  if (c.user()) return static_cast<ClientConn*>(c.user());
  // Inside EventLoop::connect() a synchronous failure reaches us before connect() has
  // returned the Connection to attach the slot to.
  if (connecting_ && connecting_->conn == nullptr) return connecting_;
  return nullptr;
}

// --- connecting ---

void Worker::request_connect(ClientConn& cc) {
  if (stopping_) return;
  if (cc.failed_last_connect) {
    // Back off a little: a refused port answers in microseconds and would spin the loop.
    cc.state = ClientConn::State::kRetryWait;
    loop_->timers().schedule(&cc, kRetryDelayMs);
    return;
  }
  uint64_t now = reactor::monotonic_ns();
  cc.state = ClientConn::State::kConnectQueued;
  // Pacing restarts from now when the queue was idle: no burst of saved-up credit.
  if (connect_count_ == 0 && next_connect_ns_ < now) next_connect_ns_ = now;
  connect_queue_[(connect_head_ + connect_count_) % connect_queue_.size()] = cc.index;
  ++connect_count_;
  wake_at(connect_interval_ns_ ? next_connect_ns_ : now);
}

uint64_t Worker::run_connect_queue(uint64_t now) {
  while (connect_count_ > 0 && !stopping_) {
    if (connect_interval_ns_ && next_connect_ns_ > now) return next_connect_ns_;
    uint32_t i = connect_queue_[connect_head_];
    connect_head_ = (connect_head_ + 1) % connect_queue_.size();
    --connect_count_;
    next_connect_ns_ += connect_interval_ns_;
    do_connect(conns_[i]);
  }
  return Pacer::kNever;
}

void Worker::do_connect(ClientConn& cc) {
  cc.state = ClientConn::State::kConnecting;
  cc.closing_by_us = cc.peer_eof = cc.server_closing = false;
  cc.conn = nullptr;
  proto_.on_connection_start(cc);
  cc.connect_start_ns = reactor::monotonic_ns();
  connecting_ = &cc;
  reactor::Connection* c = loop_->connect(cfg_.options->target, this);
  int err = errno;
  connecting_ = nullptr;
  if (c == nullptr) {  // no socket at all (EMFILE...): no callback will come
    connect_failed(cc, err, false);
    cc.state = ClientConn::State::kIdle;
    if (!stopping_) driver_->on_lost(*this, cc);
    return;
  }
  if (cc.state == ClientConn::State::kConnecting && cc.conn == nullptr) {
    cc.conn = c;
    c->set_user(&cc);
    auto ms = static_cast<uint64_t>(cfg_.options->connect_timeout_s * 1000 + 0.5);
    loop_->timers().schedule(&cc, ms == 0 ? 1 : ms);
  }
}

void Worker::connect_failed(ClientConn& cc, int err, bool timed_out) {
  cc.cancel();
  if (stopping_) return;
  if (timed_out || err == ETIMEDOUT)
    ++stats_.connect_timeout;
  else if (err == ECONNREFUSED)
    ++stats_.connect_refused;
  else if (err == ECONNRESET || err == EPIPE)
    ++stats_.connect_reset;
  else
    ++stats_.connect_other;
  live_errors_.add();
  cc.failed_last_connect = true;
  int none = 0;
  shared_.first_connect_errno.compare_exchange_strong(none, timed_out ? ETIMEDOUT : err);
  if (shared_.connects_ok.load(std::memory_order_relaxed) == 0 &&
      ++failed_unconnected_ >= cfg_.conns) {
    // Every slot tried and nothing anywhere ever connected: the target is not there.
    shared_.unreachable.store(true, std::memory_order_relaxed);
    finish();
  }
  resolved(cc);
}

void Worker::resolved(ClientConn& cc) {
  if (cc.resolved_once) return;
  cc.resolved_once = true;
  if (--unresolved_ == 0 && !stopping_) driver_->on_ready(*this);
}

void Worker::on_slot_timer(reactor::TimerNode* node) {
  auto& cc = *static_cast<ClientConn*>(node);
  Worker& w = *cc.worker;
  w.now_ns_ = reactor::monotonic_ns();
  if (cc.state == ClientConn::State::kConnecting) {
    // Connect timeout. Aborting a connection that never opened runs no on_close, so the
    // slot is released here (and detached first, in case a future reactor does call it).
    reactor::Connection* c = cc.conn;
    w.connect_failed(cc, ETIMEDOUT, true);
    cc.conn = nullptr;
    cc.state = ClientConn::State::kIdle;
    if (c) {
      c->set_user(nullptr);
      c->abort();
    }
    if (!w.stopping_) w.driver_->on_lost(w, cc);
  } else if (cc.state == ClientConn::State::kRetryWait) {
    cc.failed_last_connect = false;
    w.request_connect(cc);
  }
}

void Worker::on_connect_failed(reactor::Connection& c, int err) {
  ClientConn* cc = slot_of(c);
  if (cc) connect_failed(*cc, err, false);
}

// --- connection events ---

void Worker::on_open(reactor::Connection& c) {
  ClientConn* cc = slot_of(c);
  if (!cc) return;
  cc->cancel();  // connect timeout
  cc->conn = &c;
  c.set_user(cc);
  now_ns_ = reactor::monotonic_ns();
  cc->state = ClientConn::State::kOpen;
  cc->failed_last_connect = false;
  ++stats_.connects;
  stats_.connect_latency.record(static_cast<int64_t>(now_ns_ - cc->connect_start_ns));
  shared_.connects_ok.fetch_add(1, std::memory_order_relaxed);
  resolved(*cc);
  if (stopping_) return;
  driver_->on_open(*this, *cc);
}

void Worker::on_data(reactor::Connection& c, reactor::Buffer&& data) {
  ClientConn* cc = slot_of(c);
  if (!cc || cc->state != ClientConn::State::kOpen) return;  // closing: the rest is discarded
  now_ns_ = reactor::monotonic_ns();
  stats_.bytes_received += data.size();
  if (!proto_.consume(*cc, data.data(), data.size(), *this)) return;
  if (cc->state == ClientConn::State::kOpen && !stopping_) driver_->on_batch_end(*this, *cc);
}

void Worker::on_peer_closed(reactor::Connection& c) {
  ClientConn* cc = slot_of(c);
  if (cc) {
    cc->peer_eof = true;
    if (cc->state == ClientConn::State::kOpen) {
      now_ns_ = reactor::monotonic_ns();
      proto_.on_eof(*cc, *this);  // a close-delimited HTTP body ends here
      if (cc->state == ClientConn::State::kOpen) cc->state = ClientConn::State::kClosing;
    }
  }
  c.close();
}

void Worker::on_close(reactor::Connection& c) {
  ClientConn* cc = slot_of(c);
  if (!cc) return;
  c.set_user(nullptr);
  cc->conn = nullptr;
  cc->cancel();
  if (cc->state == ClientConn::State::kConnecting) {  // after on_connect_failed
    cc->state = ClientConn::State::kIdle;
    if (!stopping_) driver_->on_lost(*this, *cc);
    return;
  }
  if (stopping_) {
    cc->state = ClientConn::State::kIdle;
    return;
  }
  bool unanswered = cc->ring.in_flight() > 0 || proto_.reply_in_progress(*cc);
  bool clean = cc->closing_by_us || cc->server_closing || (cc->peer_eof && !unanswered);
  if (!clean) {
    // Churn counts a connection that dies before its reply as a failed connection cycle;
    // without a FIN first it was a reset (the reactor does not pass the errno on).
    if (cfg_.options->mode() == Mode::kChurn && !cc->peer_eof) {
      ++stats_.connect_reset;
      live_errors_.add();
    } else {
      count_error(cc->peer_eof ? &RunStats::errors_closed : &RunStats::errors_reset);
    }
  }
  outstanding_ -= cc->ring.drop_in_flight();
  cc->got = 0;
  cc->bad = false;
  cc->closing_by_us = cc->peer_eof = cc->server_closing = false;
  cc->state = ClientConn::State::kIdle;
  driver_->on_lost(*this, *cc);
  maybe_finish();
}

// --- requests ---

bool Worker::enqueue(ClientConn& cc, uint64_t intended_ns) {
  if (!budget_left()) return false;
  ++issued_;
  ++outstanding_;
  cc.ring.push_queued(intended_ns, cc.next_seq++);
  return true;
}

bool Worker::backlog_full() const {
  return outstanding_ >= kBacklogCap;
}

void Worker::flush(ClientConn& cc) {
  if (cc.state != ClientConn::State::kOpen || cc.server_closing) return;
  size_t room = static_cast<size_t>(cfg_.options->pipeline) - cc.ring.in_flight();
  size_t k = cc.ring.queued() < room ? cc.ring.queued() : room;
  if (k == 0) return;
  const size_t len = proto_.request_size();
  stats_.bytes_sent += k * len;
  if (k == 1) {
    cc.conn->send(proto_.request(cc.ring.mark_sent(now_ns_).seq), len);
  } else if (scratch_.size() >= k * len) {
    char* d = scratch_.data();
    for (size_t i = 0; i < k; ++i, d += len)
      std::memcpy(d, proto_.request(cc.ring.mark_sent(now_ns_).seq), len);
    cc.conn->send(scratch_.data(), k * len);  // one send: the batch goes out in one write
  } else {
    for (size_t i = 0; i < k && cc.conn; ++i)
      cc.conn->send(proto_.request(cc.ring.mark_sent(now_ns_).seq), len);
  }
}

void Worker::close(ClientConn& cc) {
  if (!cc.conn || cc.state != ClientConn::State::kOpen) return;
  cc.state = ClientConn::State::kClosing;
  cc.closing_by_us = true;
  cc.conn->close();
}

void Worker::wake_at(uint64_t ns) {
  if (pacer_) pacer_->wake_at(ns);
}

bool Worker::on_response(ClientConn& cc, bool ok, int status, bool keep_alive) {
  if (stopping_) return false;
  if (cc.ring.in_flight() == 0) {
    on_protocol_error(cc, "reply without a request");
    return false;
  }
  PendingRequest r = cc.ring.front();
  cc.ring.pop_front();
  --outstanding_;
  ++stats_.requests;
  live_requests_.add();
  stats_.latency.record(static_cast<int64_t>(now_ns_ - r.intended_ns));
  stats_.latency_uncorrected.record(static_cast<int64_t>(now_ns_ - r.sent_ns));
  if (open_loop_) stats_.send_lag.record(static_cast<int64_t>(r.sent_ns - r.intended_ns));
  if (!ok) {
    ++stats_.mismatches;
    live_errors_.add();
  }
  if (status != 0) stats_.count_status(status);
  bool more;
  if (!keep_alive) {
    // The server will not read what we pipelined after this request: those go again on the
    // next connection, so a keep-alive limit (nginx keepalive_requests) is not an error.
    cc.server_closing = true;
    cc.ring.unsend_all();
    close(cc);
    more = false;
  } else {
    more = driver_->on_response(*this, cc);
  }
  maybe_finish();
  return more && cc.state == ClientConn::State::kOpen && !stopping_;
}

void Worker::on_protocol_error(ClientConn& cc, const char* why) {
  count_error(&RunStats::errors_protocol);
  if (!error_sample_) error_sample_ = why;
  outstanding_ -= cc.ring.drop_in_flight();
  cc.closing_by_us = true;  // counted here; on_close must not count it again
  if (cc.conn) cc.conn->abort();
}

uint64_t Worker::on_pacer(uint64_t now) {
  now_ns_ = now;
  uint64_t next = run_connect_queue(now);
  if (!stopping_) {
    uint64_t d = driver_->on_wake(*this, now);
    if (d < next) next = d;
  }
  return next;
}

// --- run phases ---

void Worker::maybe_finish() {
  if (cfg_.budget != 0 && issued_ >= cfg_.budget && outstanding_ == 0) finish();
}

void Worker::finish() {
  if (stopping_) return;
  stopping_ = true;
  stats_.end_ns = reactor::monotonic_ns();
  loop_->request_stop();
}

void Worker::on_end_timer(reactor::TimerNode* node) {
  static_cast<PhaseTimer*>(node)->worker->finish();
}

void Worker::on_warmup_timer(reactor::TimerNode* node) {
  Worker& w = *static_cast<PhaseTimer*>(node)->worker;
  w.stats_.reset();
  w.stats_.start_ns = reactor::monotonic_ns();
}

}  // namespace reactord::bench
