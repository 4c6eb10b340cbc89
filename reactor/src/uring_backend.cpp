// UringBackend: ring setup with fallbacks, provided-buffer ring over the loop's BufferPool,
// multishot accept/recv, ordered sends, cancel-then-close.
#include "reactor/src/uring_backend.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "reactor/event_loop.h"
#include "reactor/log.h"
#include "reactor/src/fd_pressure.h"

namespace reactor {

namespace {
constexpr uint16_t kBufGroup = 0;
// Whether the environment variable `var` (comma-separated feature names) names `feature`.
bool listed(const char* var, const char* feature) {
  const char* list = getenv(var);
  if (!list) return false;
  const size_t len = strlen(feature);
  for (const char* p = list; (p = strstr(p, feature)) != nullptr; p += len) {
    bool starts = p == list || p[-1] == ',';
    bool ends = p[len] == '\0' || p[len] == ',';
    if (starts && ends) return true;
  }
  return false;
}
bool disabled(const char* feature) {
  return listed("REACTOR_URING_DISABLE", feature);
}
const char* state(bool on, const char* feature) {
  return on ? "on" : disabled(feature) ? "off (REACTOR_URING_DISABLE)" : "off (kernel)";
}
uint32_t op_of(uint64_t t) {
  return CompletionTag::op(t);
}
uint32_t gen_of(uint64_t t) {
  return CompletionTag::gen(t);
}
uint32_t slot_of(uint64_t t) {
  return CompletionTag::index(t);
}
}  // namespace

UringBackend::UringBackend(LoopPort loop) : loop_(loop) {}

std::unique_ptr<UringBackend> UringBackend::create(LoopPort loop, std::string* why) {
  std::unique_ptr<UringBackend> b(new UringBackend(loop));
  if (!b->init(why)) return nullptr;
  return b;
}

bool UringBackend::init(std::string* why) {
  const LoopConfig& cfg = loop_.config();
  // Setup flags from the most to the least capable; older kernels refuse the newer flags
  // with EINVAL, and we step down instead of checking version numbers.
  struct Mode {
    unsigned flags;
    const char* name;
  };
  static const Mode kModes[] = {
      // TASKRUN_FLAG: the kernel tells us (IORING_SQ_TASKRUN) that deferred completion work
      // is still queued. Each wait runs only a bounded slice of it (20 items on recent
      // kernels), so with many busy sockets a backlog builds up behind which cancels, and
      // thus closes and pauses, take effect many turns late; poll() keeps entering without
      // sleeping while the flag is set.
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
       "single-issuer+defer-taskrun"},
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single-issuer+defer-taskrun"},
      {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "coop-taskrun"},
      {0, "plain"},
  };
  int err = 0;
  unsigned ring_features = 0;
  for (const Mode& m : kModes) {
    io_uring_params p{};
    p.flags = m.flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = cfg.uring_entries * 4;
    err = io_uring_queue_init_params(cfg.uring_entries, &ring_, &p);
    if (err == -EINVAL) {  // maybe SUBMIT_ALL/CQSIZE: retry this mode without them
      io_uring_params q{};
      q.flags = m.flags;
      err = io_uring_queue_init_params(cfg.uring_entries, &ring_, &q);
      p.features = q.features;
    }
    if (err == 0) {
      features_.recv_bundle = (p.features & IORING_FEAT_RECVSEND_BUNDLE) && !disabled("bundle");
      setup_mode_ = m.name;
      ring_features = p.features;
      defer_taskrun_ = (m.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
      break;
    }
    if (err != -EINVAL) break;  // ENOSYS, EPERM, ENOMEM: no point trying other flags
  }
  if (err != 0) {
    *why = std::string("io_uring_setup: ") + strerror(-err);
    return false;
  }
  ring_ok_ = true;

  // Probe the opcodes we rely on (feature probes, not kernel versions).
  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  if (!probe) {
    *why = "io_uring probe failed";
    return false;
  }
  static const std::pair<int, const char*> kOps[] = {{IORING_OP_ACCEPT, "accept"},
                                                     {IORING_OP_RECV, "recv"},
                                                     {IORING_OP_SEND, "send"},
                                                     {IORING_OP_SENDMSG, "sendmsg"},
                                                     {IORING_OP_CONNECT, "connect"},
                                                     {IORING_OP_POLL_ADD, "poll_add"},
                                                     {IORING_OP_ASYNC_CANCEL, "async_cancel"}};
  for (auto [op, name] : kOps) {
    if (!io_uring_opcode_supported(probe, op)) {
      io_uring_free_probe(probe);
      *why = std::string("kernel lacks io_uring op ") + name;
      return false;
    }
  }
  init_fixed_files(probe, ring_features);
  features_.send_zc = io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC) &&
                      (ring_features & IORING_FEAT_RECVSEND_BUNDLE) &&
                      listed("REACTOR_URING_ENABLE", "send_zc");
  io_uring_free_probe(probe);

  // The provided-buffer ring is a contiguous run of the loop's own pool buffers: the kernel
  // picks one per receive, the protocol gets it as an ordinary Buffer, and releasing it hands
  // it straight back to the kernel.
  ring_entries_ = cfg.uring_ring_buffers;
  if (ring_entries_ < 1 || (ring_entries_ & (ring_entries_ - 1)) != 0 || ring_entries_ > 32768) {
    *why = "uring_ring_buffers must be a power of two in 1..32768";
    return false;
  }
  br_bytes_ = sizeof(io_uring_buf) * ring_entries_;
  void* mem = mmap(nullptr, br_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    *why = "mmap for buffer ring failed";
    return false;
  }
  br_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = ring_entries_;
  reg.bgid = kBufGroup;
  int rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc != 0) {
    *why = std::string("provided-buffer ring: ") + strerror(-rc);
    return false;
  }
  BufferPool& pool = loop_.buffers();
  first_id_ = pool.reserve_run(ring_entries_);
  if (first_id_ == BufferPool::kInvalid) {
    *why = "buffer pool too small for the provided-buffer ring";
    return false;
  }
  ring_pos_.resize(ring_entries_);
  for (uint32_t i = ring_entries_; i-- > 0;) stash_.push_back(static_cast<uint16_t>(i));
  publish_ring();
  ring_dirty_.assign(ring_entries_, 0);
  ring_held_.assign(ring_entries_, 0);
  pool.set_scarce_run(first_id_, ring_entries_);
  pool.set_release_hook([this](uint32_t id) { return take_back(id); });
  REACTOR_LOG_DEBUG(
      "io_uring: %s, receive bundles %s, registered descriptors %s (%u), "
      "zero-copy sends %s",
      setup_mode_, state(features_.recv_bundle, "bundle"),
      state(features_.fixed_files, "fixed_files"), fixed_slots_,
      features_.send_zc ? "on (REACTOR_URING_ENABLE)" : "off");
  return true;
}

// A sparse table of registered descriptors, one slot per connection slot up to kMaxFixedFiles
// (and the descriptor limit, which the kernel also applies to the table).
void UringBackend::init_fixed_files(io_uring_probe* probe, uint32_t ring_features) {
  if (disabled("fixed_files") || !(ring_features & IORING_FEAT_RW_ATTR) ||
      !io_uring_opcode_supported(probe, IORING_OP_FILES_UPDATE))
    return;
  rlimit lim{};
  uint32_t n = kMaxFixedFiles;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < n)
    n = static_cast<uint32_t>(lim.rlim_cur);
  int rc = io_uring_register_files_sparse(&ring_, n);
  if (rc != 0) {
    REACTOR_LOG_DEBUG("io_uring: no registered descriptors: %s", strerror(-rc));
    return;
  }
  fixed_fd_.assign(n, -1);
  fixed_slots_ = n;
  features_.fixed_files = true;
}

void UringBackend::name_socket(io_uring_sqe* s, const Connection& c) const {
  if (!fixed(c)) return;
  s->fd = static_cast<int>(c.id().slot);
  s->flags |= IOSQE_FIXED_FILE;
}

UringBackend::~UringBackend() {
  if (zc_sends_ > 0)
    REACTOR_LOG_DEBUG("io_uring: %llu zero-copy sends, %llu of them copied by the kernel",
                      static_cast<unsigned long long>(zc_sends_),
                      static_cast<unsigned long long>(zc_copied_));
  if (ring_ok_) cancel_everything();
  if (br_) {
    loop_.buffers().set_release_hook(nullptr);
    if (ring_ok_) io_uring_unregister_buf_ring(&ring_, kBufGroup);
    munmap(br_, br_bytes_);
  }
  if (ring_ok_) io_uring_queue_exit(&ring_);
}

// Requests in flight hold references to their sockets, and a ring that is merely exited is
// torn down by the kernel some milliseconds after the process is gone: a multishot accept
// would keep the listening port bound that long, so an immediate restart failed with
// "address in use". Cancel everything and reap the completions (bounded) before exiting, so
// the sockets are released while we still run.
void UringBackend::cancel_everything() {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, tag(kOpCancel, 0, 0));
  io_uring_submit(&ring_);
  auto armed = [this] {
    for (uint8_t a : accept_armed_) {
      if (a) return true;
    }
    return false;
  };
  for (int round = 0; round < 50 && armed(); ++round) {
    __kernel_timespec ts{0, 10 * 1000 * 1000};
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) != 0) continue;
    unsigned head;
    unsigned n = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++n;
      uint32_t op = op_of(cqe->user_data);
      if ((op == kOpAccept || op == kOpListenPoll) && !(cqe->flags & IORING_CQE_F_MORE) &&
          slot_of(cqe->user_data) < accept_armed_.size())
        accept_armed_[slot_of(cqe->user_data)] = 0;
      if (op == kOpAccept && cqe->res >= 0) ::close(cqe->res);  // accepted as we stop
    }
    io_uring_cq_advance(&ring_, n);
  }
}

void UringBackend::note_delivered(uint32_t bid) {
  ++ring_deliveries_;
  if (ring_dirty_[bid] && !ring_held_[bid]) --ring_dirty_idle_;
  ring_dirty_[bid] = 1;
  ring_held_[bid] = 1;
}

// Under load every ring buffer is used every few milliseconds and trimming would only add page
// faults; when receives are few, the pages of the ring's idle buffers go back to the kernel
// (it faults in zeroed pages when it next fills one), so an idle server's ring costs memory
// in proportion to what it recently received, not to its length.
//
// An idle ring buffer is still the kernel's to fill, so its pages may only be dropped when
// the kernel cannot be filling it: with DEFER_TASKRUN receives run only inside our own
// io_uring_enter calls, so at the start of poll(), with no completion left unread, nothing
// has been written that we have not seen and nothing can be until we enter. In the other
// setup modes completions run on any return from a system call, and the ring is not trimmed.
void UringBackend::trim_idle() {
  uint64_t delivered = ring_deliveries_;
  ring_deliveries_ = 0;
  if (defer_taskrun_ && delivered <= ring_entries_ / 4 && ring_dirty_idle_ > 0) trim_due_ = true;
}

void UringBackend::trim_ring_now() {
  BufferPool& pool = loop_.buffers();
  for (uint32_t i = 0; i < ring_entries_;) {
    if (!ring_dirty_[i] || ring_held_[i]) {
      ++i;
      continue;
    }
    uint32_t j = i;
    while (j < ring_entries_ && ring_dirty_[j] && !ring_held_[j]) ring_dirty_[j++] = 0;
    pool.drop_pages(first_id_ + i, j - i);
    ring_dirty_idle_ -= j - i;
    i = j;
  }
}

bool UringBackend::take_back(uint32_t id) {
  if (id < first_id_ || id >= first_id_ + ring_entries_) return false;
  ring_held_[id - first_id_] = 0;
  if (ring_dirty_[id - first_id_]) ++ring_dirty_idle_;
  stash_.push_back(static_cast<uint16_t>(id - first_id_));
  return true;
}

// The kernel takes ring entries in order, so every entry published would be filled (and its
// first page made resident) once per lap of the ring: 10,000 idle connections that each sent
// one message left all 1,024 buffers' first pages resident. Returned buffers wait in a LIFO
// stash instead, and each turn publishes only what the next turn may need (twice what the last
// one took, at least kMinPublished): the kernel cycles through a few warm buffers and the rest
// stay untouched, so the ring's resident size follows the bytes in flight. Running short is
// not an error: ENOBUFS parks the receiver until the next publish (rearm_starved).
void UringBackend::publish_ring() {
  const uint32_t want = std::min(ring_entries_, std::max(kMinPublished, 2 * ring_taken_));
  ring_taken_ = 0;
  const int mask = io_uring_buf_ring_mask(ring_entries_);
  const uint32_t cap = loop_.buffers().buffer_size();
  uint32_t n = 0;
  while (ring_available_ + n < want && !stash_.empty()) {
    uint16_t b = stash_.back();
    stash_.pop_back();
    ring_pos_[b] = static_cast<uint16_t>((br_->tail + n) & mask);
    io_uring_buf_ring_add(br_, loop_.buffers().address(first_id_ + b), cap, b, mask,
                          static_cast<int>(n));
    ++n;
  }
  if (n == 0) return;
  io_uring_buf_ring_advance(br_, static_cast<int>(n));
  ring_available_ += n;
}

io_uring_sqe* UringBackend::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (!s) {
    // Submission queue full: push what we have to the kernel and take a fresh entry.
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;  // non-null: the SQ was just emptied
}

void UringBackend::cancel(uint64_t target) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, target, 0);
  io_uring_sqe_set_data64(s, tag(kOpCancel, 0, 0));
}

void UringBackend::start_accept(Listener& l) {
  if (l.accepting) return;
  l.accepting = true;
  if (accept_armed_.size() <= l.index) {
    accept_armed_.resize(l.index + 1, 0);
    wait_readable_.resize(l.index + 1, 0);
  }
  if (!accept_armed_[l.index]) arm_accept(l);
}

void UringBackend::arm_accept(Listener& l) {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, l.fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, tag(kOpAccept, 0, l.index));
  accept_armed_[l.index] = 1;
}

void UringBackend::stop_accept(Listener& l) {
  if (!l.accepting) return;
  l.accepting = false;
  if (l.index < accept_armed_.size() && accept_armed_[l.index])
    cancel(tag(wait_readable_[l.index] ? kOpListenPoll : kOpAccept, 0, l.index));
}

void UringBackend::add_connection(Connection& c) {
  LoopPort::reset_backend_state<ConnState>(c);
  if (features_.send_zc) {
    // The kernel pins pages for TCP and UDP only; other families refuse zero-copy sends.
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    if (getsockname(c.fd(), reinterpret_cast<sockaddr*>(&sa), &len) != 0 ||
        (sa.ss_family != AF_INET && sa.ss_family != AF_INET6))
      st(c).bits |= kNoZeroCopy;
  }
  if (!fixed(c)) return;
  // Runs before the connection's first operation: SQEs are issued in order, and an update
  // completes when issued. The plain fd stays ours for setsockopt, getpeername and close.
  const uint32_t slot = c.id().slot;
  fixed_fd_[slot] = c.fd();
  io_uring_sqe* s = sqe();
  io_uring_prep_files_update(s, &fixed_fd_[slot], 1, static_cast<int>(slot));
  io_uring_sqe_set_data64(s, tag(kOpFileUpdate, c.id().gen, slot));
  ++st(c).pending_ops;
}

void UringBackend::connect(Connection& c, const sockaddr* addr, socklen_t len) {
  // The kernel copies the address when it takes the SQE, and the caller's copy dies when we
  // return: submit now rather than with the rest of the turn.
  io_uring_sqe* s = sqe();
  io_uring_prep_connect(s, c.fd(), addr, len);
  name_socket(s, c);
  io_uring_sqe_set_data64(s, tag(kOpConnect, c.id().gen, c.id().slot));
  ++st(c).pending_ops;
  io_uring_submit(&ring_);
}

void UringBackend::start_receive(Connection& c) {
  st(c).bits |= kRecvWanted;
  if (!(st(c).bits & (kRecvArmed | kEnobufsWait))) arm_recv(c);
}

bool UringBackend::backed_up(const Connection& c) const {
  // One multishot wake-up can deliver 32 buffers (the kernel's retry cap): under memory
  // pressure everybody receives one buffer at a time, so nobody takes half a megabyte at once.
  if (loop_.memory_pressure()) return true;
  // A peer that stopped reading shows as a send that found its socket full (kWriteWait). A
  // reply merely in flight is no sign of it: a bulk echo always has one, and going single-shot
  // then cost a cancel and a re-arm per buffer.
  return (st(c).bits & kWriteWait) ||
         loop_.queue(c).bytes() >= kBackedUpBuffers * loop_.buffers().buffer_size();
}

void UringBackend::memory_pressure(bool on) {
  if (!on) return;  // connections go back to multishot at their next re-arm
  loop_.for_each_connection([this](Connection& c) {
    if ((st(c).bits & kRecvArmed) && !(st(c).bits & kRecvSingle)) cancel_recv(c);
  });
}

void UringBackend::arm_recv(Connection& c) {
  io_uring_sqe* s = sqe();
  // A multishot recv keeps filling ring buffers for as long as the socket has data: one
  // kernel entry can hand a fast sender's whole receive queue to us. That is what we want
  // while replies go straight out; for a connection whose replies pile up (its peer is not
  // reading) it would overshoot the high-water mark by megabytes before a pause could take
  // effect. Such a connection gets one buffer per receive instead, re-armed only after the
  // loop has seen (and possibly paused on) the previous one.
  // A new connection starts single-shot too: a crowd that connects and floods at once would
  // otherwise take up to 32 buffers per connection per wake-up before any of them had been
  // seen by the loop's budget.
  const uint32_t cap = loop_.buffers().buffer_size();
  if (!(st(c).bits & kRecvSeen) || backed_up(c)) {
    io_uring_prep_recv(s, c.fd(), nullptr, cap, 0);
    st(c).bits |= kRecvSingle;
  } else if ((st(c).bits & kBulk) && features_.recv_bundle) {
    // A bulk stream: each completion carries a bundle of ring buffers, so the stream costs
    // one kernel receive, one completion and one send per bundle, not per buffer. A bundle
    // alone is unbounded (the kernel appends whatever the socket holds: megabytes after a
    // stall, far past the high-water mark); the multishot's total limit bounds what one arm
    // may take, after which it ends and the re-arm looks at the queue again.
    io_uring_prep_recv_multishot(s, c.fd(), nullptr, 0, 0);
    s->ioprio |= IORING_RECVSEND_BUNDLE;
    s->file_index = kBundleBuffers * cap;  // = sqe->optlen: IORING_RECV_MULTISHOT_LIMIT
    st(c).bits |= kRecvBundle;
    st(c).bits &= ~kRecvSingle;
  } else {
    io_uring_prep_recv_multishot(s, c.fd(), nullptr, 0, 0);
    st(c).bits &= ~kRecvSingle;
  }
  name_socket(s, c);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kBufGroup;
  io_uring_sqe_set_data64(s, tag(kOpRecv, c.id().gen, c.id().slot));
  st(c).bits |= kRecvArmed;
  st(c).bits &= ~kRecvCancel;
  ++st(c).pending_ops;
}

void UringBackend::stop_receive(Connection& c) {
  st(c).bits &= ~kRecvWanted;
  cancel_recv(c);
  // With no receive armed a reset or the peer's FIN would go unnoticed (and a paused
  // connection would hold its memory until it times out): watch for them meanwhile.
  if (!(st(c).bits & kHupWatch) && !c.closed()) {
    io_uring_sqe* s = sqe();
    io_uring_prep_poll_add(s, c.fd(), POLLRDHUP);
    name_socket(s, c);
    io_uring_sqe_set_data64(s, tag(kOpHupPoll, c.id().gen, c.id().slot));
    st(c).bits |= kHupWatch;
    ++st(c).pending_ops;
  }
}

void UringBackend::on_hup_poll_cqe(Connection& c, int res) {
  st(c).bits &= ~kHupWatch;
  --st(c).pending_ops;
  if (c.closed() || res < 0 || (st(c).bits & kRecvArmed)) return;  // a recv will tell
  if (res & POLLERR) {
    if (st(c).bits & (kSendInFlight | kWriteWait)) return;  // the send will tell
    loop_.on_io_error(c, ECONNRESET);
  } else if ((res & POLLHUP) && !c.has(Connection::kUserPaused) && !c.has(Connection::kPaused) &&
             !c.has(Connection::kInputHeld)) {
    // Both directions shut (our FIN and the peer's): an end. Not for a connection paused by
    // its protocol or by the loop (memory) after a half-close, nor for one whose bytes held
    // during such a pause wait for the next turn: what the peer sent before its FIN is still
    // unread; it is read on resuming (the loop resumes at once if nothing is queued).
    loop_.on_peer_eof(c);
  } else if (res & (POLLRDHUP | POLLHUP)) {
    loop_.on_peer_fin_while_paused(c);
  }
}

void UringBackend::cancel_recv(Connection& c) {
  if ((st(c).bits & kRecvArmed) && !(st(c).bits & kRecvCancel)) {
    st(c).bits |= kRecvCancel;
    cancel(tag(kOpRecv, c.id().gen, c.id().slot));
  }
}

uint32_t UringBackend::alloc_send_ctx() {
  if (send_free_ == UINT32_MAX) {
    send_ctx_.push_back(std::make_unique<SendCtx>());
    return static_cast<uint32_t>(send_ctx_.size() - 1);
  }
  uint32_t i = send_free_;
  send_free_ = send_ctx_[i]->next_free;
  return i;
}

void UringBackend::free_send_ctx(uint32_t i) {
  send_ctx_[i]->next_free = send_free_;
  send_free_ = i;
}

void UringBackend::flush(Connection& c) {
  if (delivering_ == &c) return;  // deliver() flushes the whole bundle at once
  if (!(st(c).bits & (kSendInFlight | kWriteWait)) && !loop_.queue(c).empty()) submit_send(c);
}

void UringBackend::submit_send(Connection& c) {
  io_uring_sqe* s = sqe();
  iovec one;
  int n = loop_.queue(c).gather(loop_.slices(), &one, 1);
  // Sends never wait inside the kernel: a send parked there until a slow peer reads would
  // hold the queue's buffers (a receive-ring buffer among them), so they could be neither
  // moved out of the ring nor released when the memory budget closes the connection — and
  // cancelling it completes only when the kernel gets round to its deferred work. With
  // MSG_DONTWAIT a full socket answers EAGAIN at once; we then wait with a POLLOUT poll,
  // which references no buffer, and send again when it fires.
  const int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
  // Zero-copy: the kernel pins the pages instead of copying them, and the queue's buffers stay
  // untouched until its notification (on_send_cqe); only large sends can repay the pinning.
  const bool zc =
      features_.send_zc && !(st(c).bits & kNoZeroCopy) && loop_.queue(c).bytes() >= kZcMinBytes;
  if (!zc && n == 1 && loop_.queue(c).bytes() == one.iov_len) {
    io_uring_prep_send(s, c.fd(), one.iov_base, one.iov_len, flags);
  } else {
    uint32_t i = alloc_send_ctx();
    SendCtx& ctx = *send_ctx_[i];
    int cnt = loop_.queue(c).gather(loop_.slices(), ctx.iov, 32);
    memset(&ctx.msg, 0, sizeof ctx.msg);
    ctx.msg.msg_iov = ctx.iov;
    ctx.msg.msg_iovlen = static_cast<size_t>(cnt);
    if (zc) {
      io_uring_prep_sendmsg_zc(s, c.fd(), &ctx.msg, flags);
      s->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
    } else {
      io_uring_prep_sendmsg(s, c.fd(), &ctx.msg, flags);
    }
    st(c).send_ctx = i;
  }
  name_socket(s, c);
  io_uring_sqe_set_data64(s, tag(kOpSend, c.id().gen, c.id().slot));
  st(c).bits |= kSendInFlight;
  ++st(c).pending_ops;
}

void UringBackend::close(Connection& c) {
  st(c).bits |= kCloseWanted;
  st(c).bits &= ~kRecvWanted;
  // Memory first: unless a send is reading the queue right now, its buffers go back at once
  // rather than after the cancellations below complete.
  if (!(st(c).bits & kSendInFlight)) loop_.release_queue(c);
  if (st(c).pending_ops > 0 && !(st(c).bits & kCancelledAll)) {
    st(c).bits |= kCancelledAll;
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel_fd(s, c.fd(), IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(s, tag(kOpCancel, 0, 0));
  }
  maybe_finish_close(c);
}

void UringBackend::maybe_finish_close(Connection& c) {
  if (!(st(c).bits & kCloseWanted) || st(c).pending_ops > 0) return;
  st(c).bits &= ~kCloseWanted;
  if (fixed(c)) {  // the table's reference goes too (queued before any reuse of the slot)
    io_uring_sqe* s = sqe();
    io_uring_prep_files_update(s, &no_file_, 1, static_cast<int>(c.id().slot));
    io_uring_sqe_set_data64(s, tag(kOpCancel, 0, 0));
  }
  ::close(c.fd());
  loop_.on_closed(c);
}

void UringBackend::watch(int fd, FdWatcher* w) {
  uint32_t index = static_cast<uint32_t>(watchers_.size());
  watchers_.push_back(w);
  watcher_fds_.push_back(fd);
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_multishot(s, fd, POLLIN);
  io_uring_sqe_set_data64(s, tag(kOpPoll, 0, index));
}

void UringBackend::unwatch(int fd, FdWatcher* w) {
  for (uint32_t i = 0; i < watchers_.size(); ++i) {
    if (watchers_[i] == w && watcher_fds_[i] == fd) {
      watchers_[i] = nullptr;
      io_uring_sqe* s = sqe();
      io_uring_prep_poll_remove(s, tag(kOpPoll, 0, i));
      io_uring_sqe_set_data64(s, tag(kOpCancel, 0, 0));
    }
  }
  io_uring_submit(&ring_);
}

void UringBackend::rearm_starved() {
  if (starved_.empty() || ring_available_ == 0) return;
  std::vector<uint64_t> waiting;
  waiting.swap(starved_);
  for (uint64_t t : waiting) {
    Connection* c = loop_.find(ConnectionId{slot_of(t), gen_of(t)});
    if (!c || c->closed()) continue;
    st(*c).bits &= ~kEnobufsWait;
    if ((st(*c).bits & kRecvWanted) && !(st(*c).bits & kRecvArmed)) arm_recv(*c);
  }
}

void UringBackend::poll(int timeout_ms) {
  if (trim_due_) {
    trim_due_ = false;
    if (io_uring_cq_ready(&ring_) == 0) trim_ring_now();
  }
  // Publish what this turn may take (one store), then re-arm receivers that ran dry, then one
  // submit-and-wait for the whole turn's submissions.
  publish_ring();
  rearm_starved();
  // Deferred completion work still queued in the kernel: collect it now, do not sleep.
  if (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN) timeout_ms = 0;
  io_uring_cqe* cqe = nullptr;
  if (timeout_ms < 0) {
    io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, timeout_ms == 0 ? 0 : 1, &ts, nullptr);
  }
  if (timeout_ms != 0) loop_.on_wakeup();
  // Reap everything the wait produced, in batches; handlers may submit (sends, re-arms,
  // cancels) meanwhile, which go out with the next wait. Leaving completions behind would let
  // a backlog build up in the CQ ring behind which cancels and pauses take effect turns late.
  const int max_rounds = static_cast<int>(ring_.cq.ring_entries / 256) + 1;
  for (int round = 0; round < max_rounds; ++round) {
    io_uring_cqe* batch[256];
    unsigned n = io_uring_peek_batch_cqe(&ring_, batch, 256);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) handle(batch[i]);
    io_uring_cq_advance(&ring_, n);
    if (n < 256) break;
  }
}

void UringBackend::handle(io_uring_cqe* cqe) {
  uint64_t t = cqe->user_data;
  int res = cqe->res;
  uint32_t flags = cqe->flags;
  switch (op_of(t)) {
    case kOpAccept:
      on_accept_cqe(slot_of(t), res, flags);
      return;
    case kOpPoll: {
      uint32_t i = slot_of(t);
      if (i >= watchers_.size() || !watchers_[i]) return;
      if (!(flags & IORING_CQE_F_MORE)) {  // multishot poll ended (e.g. overflow): re-arm
        io_uring_sqe* s = sqe();
        io_uring_prep_poll_multishot(s, watcher_fds_[i], POLLIN);
        io_uring_sqe_set_data64(s, t);
      }
      if (res >= 0) watchers_[i]->on_readable();
      return;
    }
    case kOpListenPoll:
      on_listen_poll_cqe(slot_of(t));
      return;
    case kOpCancel:
      return;
    default:
      break;
  }
  Connection* c = loop_.find(ConnectionId{slot_of(t), gen_of(t)});
  if (!c) {
    // Cannot happen while pending_ops_ keeps the slot alive; if it does, do not leak a buffer.
    if (flags & IORING_CQE_F_BUFFER) deliver(nullptr, flags >> 16, res > 0 ? res : 1);
    return;
  }
  switch (op_of(t)) {
    case kOpRecv:
      on_recv_cqe(*c, res, flags);
      break;
    case kOpSend:
      on_send_cqe(*c, res, flags);
      break;
    case kOpFileUpdate:  // failing, it leaves the slot empty: the operations after it fail too
      --st(*c).pending_ops;
      if (res < 0 && !c->closed()) loop_.on_io_error(*c, -res);
      break;
    case kOpConnect:
      on_connect_cqe(*c, res);
      break;
    case kOpWritePoll:
      on_write_poll_cqe(*c);
      break;
    case kOpHupPoll:
      on_hup_poll_cqe(*c, res);
      break;
    default:
      break;
  }
  maybe_finish_close(*c);
}

void UringBackend::on_accept_cqe(uint32_t index, int res, uint32_t flags) {
  auto& ls = loop_.listeners();
  if (index >= ls.size()) return;
  Listener& l = *ls[index];
  bool more = flags & IORING_CQE_F_MORE;
  if (!more) accept_armed_[index] = 0;
  if (res >= 0) {
    // Even if the listener was stopped or closed meanwhile (a drain began, or a restart
    // hands over), the kernel completed the handshake and the client is waiting: serve it.
    loop_.on_accepted(l, res);
  } else if (res != -ECANCELED && !loop_.on_accept_error(l, -res)) {
    // Out of descriptors with nothing queued: an accept would fail at once again (the kernel
    // takes the descriptor before it looks at the queue). Wait for an arrival with a poll.
    if (more) cancel(tag(kOpAccept, 0, index));
    wait_readable_[index] = 1;
  }
  if (!more && l.accepting && l.fd >= 0 && !accept_armed_[index]) {
    if (wait_readable_[index]) {
      io_uring_sqe* s = sqe();
      io_uring_prep_poll_add(s, l.fd, POLLIN);
      io_uring_sqe_set_data64(s, tag(kOpListenPoll, 0, index));
      accept_armed_[index] = 1;  // the poll stands in for the accept until it fires
    } else {
      arm_accept(l);
    }
  }
}

void UringBackend::on_listen_poll_cqe(uint32_t index) {
  auto& ls = loop_.listeners();
  if (index >= ls.size()) return;
  Listener& l = *ls[index];
  accept_armed_[index] = 0;
  wait_readable_[index] = 0;
  if (!l.accepting || l.fd < 0) return;
  if (!fd_pressure::active(loop_.now_ms())) {
    arm_accept(l);
    return;
  }
  // Out of descriptors somewhere in the process: accept here, serialized with the loops'
  // spare-descriptor trick (a kernel-side accept could take the slot a sibling just freed),
  // and keep waiting with a poll rather than a multishot accept while that lasts.
  for (uint32_t i = 0; i < loop_.config().accept_batch && l.accepting && l.fd >= 0; ++i) {
    int fd = fd_pressure::accept_serialized(l.fd, SOCK_CLOEXEC);
    if (fd >= 0) {
      loop_.on_accepted(l, fd);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (!loop_.on_accept_error(l, errno)) break;
  }
  if (l.accepting && l.fd >= 0 && !accept_armed_[index]) {
    io_uring_sqe* s = sqe();
    io_uring_prep_poll_add(s, l.fd, POLLIN);
    io_uring_sqe_set_data64(s, tag(kOpListenPoll, 0, index));
    accept_armed_[index] = 1;
  }
}

void UringBackend::on_recv_cqe(Connection& c, int res, uint32_t flags) {
  bool more = flags & IORING_CQE_F_MORE;
  const bool bundle = st(c).bits & kRecvBundle;
  if (!more) {
    st(c).bits &= ~(kRecvArmed | kRecvCancel | kRecvBundle);
    --st(c).pending_ops;
  }
  if (res > 0) {
    st(c).bits |= kRecvSeen;
    // A receive that filled a buffer is a bulk stream: bundles from the next receive on (a
    // multishot one ends here and comes back as a bundle). A short one is back to messages.
    const bool bulk = static_cast<uint32_t>(res) >= loop_.buffers().buffer_size();
    if (bulk != ((st(c).bits & kBulk) != 0)) {
      st(c).bits ^= kBulk;
      if (bulk && more && features_.recv_bundle) cancel_recv(c);
    }
    deliver(&c, flags >> 16, res);
    // Replies started piling up: end the multishot so the re-arm takes one buffer at a time.
    if (more && !c.closed() && backed_up(c)) cancel_recv(c);
  } else if (res == 0) {
    if (!c.closed()) loop_.on_peer_eof(c);
    return;  // no re-arm after EOF
  } else if (res == -ENOBUFS) {
    // The ring ran dry: not an error. Park until buffers come back, then re-arm.
    loop_.stats().enobufs.add();
    ring_available_ = 0;
    if (!more && !c.closed()) {
      st(c).bits |= kEnobufsWait;
      starved_.push_back(tag(kOpRecv, c.id().gen, c.id().slot));
    }
    return;
  } else if (res == -EINVAL && bundle) {
    // A kernel with bundles (6.10) but without the multishot limit (6.17) refuses the
    // limit: bundles would be unbounded there, so this loop does without them.
    features_.recv_bundle = false;
    REACTOR_LOG_INFO("io_uring: no multishot receive limit (Linux 6.17); bundles off");
  } else if (res != -ECANCELED) {
    if (!c.closed()) loop_.on_io_error(c, -res);
    return;
  }
  if (!more && !c.closed() && (st(c).bits & kRecvWanted) && !c.has(Connection::kPeerEof))
    arm_recv(c);
}

// Hands over the ring buffers a receive filled: one, or a bundle of consecutive ring entries
// starting at `bid`, all full but the last. The bundle's replies go out in one send. Without a
// connection the buffers just go back.
void UringBackend::deliver(Connection* c, uint32_t bid, int res) {
  uint32_t bytes = static_cast<uint32_t>(res);
  BufferPool& pool = loop_.buffers();
  const uint32_t cap = pool.buffer_size();
  const uint32_t count = (bytes + cap - 1) / cap;
  const uint32_t mask = static_cast<uint32_t>(io_uring_buf_ring_mask(ring_entries_));
  const uint32_t pos = ring_pos_[bid];
  ring_available_ -= std::min(ring_available_, count);  // an estimate: never below zero
  ring_taken_ += count;
  if (count > 1) delivering_ = c;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t b = i == 0 ? bid : br_->bufs[(pos + i) & mask].bid;
    uint32_t len = std::min(bytes, cap);
    bytes -= len;
    note_delivered(b);
    pool.adopt(first_id_ + b);
    Buffer buf(&pool, first_id_ + b, 0, len);
    if (c && !c->closed()) loop_.on_received(*c, std::move(buf));
  }
  delivering_ = nullptr;
  if (c && count > 1 && !c->closed()) flush(*c);
}

void UringBackend::on_send_cqe(Connection& c, int res, uint32_t flags) {
  if (flags & IORING_CQE_F_NOTIF) {  // the kernel is done with the zero-copy send's buffers
    ++zc_sends_;
    if (static_cast<uint32_t>(res) & IORING_NOTIF_USAGE_ZC_COPIED) ++zc_copied_;
    res = send_ctx_[st(c).send_ctx]->zc_res;
  } else if (flags & IORING_CQE_F_MORE) {     // a zero-copy send's result; its buffers are still
    send_ctx_[st(c).send_ctx]->zc_res = res;  // the kernel's until the notification
    return;
  }
  st(c).bits &= ~kSendInFlight;
  --st(c).pending_ops;
  if (st(c).send_ctx != UINT32_MAX) {
    free_send_ctx(st(c).send_ctx);
    st(c).send_ctx = UINT32_MAX;
  }
  if (c.closed()) {
    loop_.release_queue(c);  // close() could not: the kernel was reading it until now
    return;
  }
  bool full = false;
  if (res >= 0) {
    loop_.on_sent(c, static_cast<size_t>(res));
  } else if (res == -EAGAIN) {
    full = true;
  } else if (res != -EINTR) {
    loop_.on_io_error(c, -res);
    return;
  }
  if (c.closed() || (st(c).bits & (kSendInFlight | kWriteWait)) || loop_.queue(c).empty()) return;
  if (!full) {  // short send or more queued meanwhile: the rest goes out next, in order
    submit_send(c);
    return;
  }
  // The peer is not reading. Bytes still in a receive-ring buffer move out of the ring
  // before we wait, so a slow peer never holds one.
  if (loop_.buffers().is_scarce(loop_.queue(c).head_buffer(loop_.slices()))) unpin(c);
  if (c.closed()) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_add(s, c.fd(), POLLOUT);
  name_socket(s, c);
  io_uring_sqe_set_data64(s, tag(kOpWritePoll, c.id().gen, c.id().slot));
  st(c).bits |= kWriteWait;
  ++st(c).pending_ops;
}

void UringBackend::on_write_poll_cqe(Connection& c) {
  st(c).bits &= ~kWriteWait;
  --st(c).pending_ops;
  // Whatever the poll says (writable, HUP, error), the next send finds out.
  if (!c.closed() && !(st(c).bits & kSendInFlight) && !loop_.queue(c).empty()) submit_send(c);
}

bool UringBackend::unpin(Connection& c) {
  int moved = loop_.queue(c).copy_out_scarce(loop_.slices());
  if (moved < 0) {
    loop_.on_pool_exhausted(&c);
    if (c.closed()) return true;
    moved = loop_.queue(c).copy_out_scarce(loop_.slices());
  }
  if (moved > 0) loop_.stats().ring_copies.add(static_cast<uint64_t>(moved));
  // moved < 0 still: the pool is truly empty; the ring buffer stays with the queue until it
  // goes out (counted as pool exhaustion).
  return moved >= 0;
}

void UringBackend::on_connect_cqe(Connection& c, int res) {
  --st(c).pending_ops;
  if (c.closed()) return;
  loop_.on_connected(c, res < 0 ? -res : 0);
}

}  // namespace reactor
