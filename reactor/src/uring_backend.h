// The completion backend: io_uring via liburing, implementing the operation-level seam natively
// (multishot accept, multishot recv into a provided-buffer ring, one send in flight per
// connection, cancel-then-close).
#pragma once

#include <liburing.h>

#include <memory>
#include <string>
#include <vector>

#include "reactor/src/completion_tag.h"
#include "reactor/src/io_backend.h"
#include "reactor/src/uring_compat.h"

namespace reactor {

// Thread affinity: created, submitted to and reaped by its EventLoop's thread only (the ring
// is set up with SINGLE_ISSUER|DEFER_TASKRUN where the kernel allows, which requires it).
//
// Completion tags (user_data) pack op | generation | slot so a completion for a connection
// whose slot was reused is recognised; and a connection is freed only once its in-flight
// operation count (ConnState::pending_ops) is zero, so no completion touches freed state.
class UringBackend final : public IoBackend {
 public:
  // nullptr with *why set when the kernel, seccomp or memory says no (ENOSYS, EPERM, ENOMEM,
  // missing opcode or provided-buffer-ring support). The caller falls back to epoll.
  static std::unique_ptr<UringBackend> create(LoopPort loop, std::string* why);
  ~UringBackend() override;

  BackendKind kind() const override { return BackendKind::kIoUring; }
  void start_accept(Listener& l) override;
  void stop_accept(Listener& l) override;
  void add_connection(Connection& c) override;
  void connect(Connection& c, const sockaddr* addr, socklen_t len) override;
  void start_receive(Connection& c) override;
  void stop_receive(Connection& c) override;
  void flush(Connection& c) override;
  void close(Connection& c) override;
  void watch(int fd, FdWatcher* w) override;
  void unwatch(int fd, FdWatcher* w) override;
  void poll(int timeout_ms) override;
  void memory_pressure(bool on) override;
  size_t idle_resident_buffers() const override { return ring_dirty_idle_; }
  void trim_idle() override;

  const char* setup_mode() const { return setup_mode_; }
  const UringFeatures& features() const { return features_; }
  uint32_t ring_buffers() const { return ring_entries_; }

 private:
  enum Op : uint32_t {
    kOpAccept = 1,
    kOpRecv,
    kOpSend,
    kOpConnect,
    kOpPoll,
    kOpCancel,
    kOpListenPoll,  // waits for a listener to become readable while out of descriptors
    kOpWritePoll,   // waits for a connection's socket to take more bytes
    kOpHupPoll,     // notices a reset while a connection is not receiving
    kOpFileUpdate,  // installs a connection's socket in the registered file table
  };
  enum Bits : uint16_t {
    kRecvWanted = 1 << 0,
    kRecvArmed = 1 << 1,   // a multishot recv is in flight
    kRecvCancel = 1 << 2,  // ... and a cancel for it was submitted
    kSendInFlight = 1 << 3,
    kCloseWanted = 1 << 4,   // close() called; fd closes when pending ops reach zero
    kCancelledAll = 1 << 5,  // the cancel-all for the fd was submitted
    kEnobufsWait = 1 << 6,   // parked until the buffer ring refills
    kRecvSingle = 1 << 7,    // the armed recv is single-shot (the connection is backed up)
    kRecvSeen = 1 << 8,      // a receive completed: the connection may go multishot
    kWriteWait = 1 << 9,     // a POLLOUT poll is armed: the socket buffer was full
    kHupWatch = 1 << 10,     // a poll for ERR/HUP is armed while receiving is stopped
    kBulk = 1 << 11,         // the last receive filled a buffer: receive bundles
    kRecvBundle = 1 << 12,   // the armed recv is a limited multishot bundle
    kNoZeroCopy = 1 << 13,   // not an inet socket: SEND_ZC answers EOPNOTSUPP there
  };
  // Ring buffers' worth of bytes one bundle arm may take before it ends and is re-armed.
  static constexpr uint32_t kBundleBuffers = 16;
  // Ring entries published at least, whatever the last turn took (see publish_ring).
  static constexpr uint32_t kMinPublished = 64;
  // Queued buffers' worth of replies from which a connection receives one buffer at a time
  // (a quarter of the default high-water mark: a bulk echo stays below it).
  static constexpr uint64_t kBackedUpBuffers = 16;
  // Per-connection state, kept in the connection's backend state (reset in add_connection; the
  // slot is not reused before on_closed, which waits for pending_ops to reach zero).
  struct ConnState {
    uint16_t bits = 0;
    uint16_t pending_ops = 0;        // operations in flight that name this connection
    uint32_t send_ctx = UINT32_MAX;  // the in-flight sendmsg's context
  };
  static ConnState& st(Connection& c) { return LoopPort::backend_state<ConnState>(c); }
  static const ConnState& st(const Connection& c) { return LoopPort::backend_state<ConnState>(c); }
  struct SendCtx {
    msghdr msg;
    iovec iov[32];
    uint32_t next_free;
    int zc_res;  // a zero-copy send's result, reported once its notification arrives
  };
  // Sends from this many queued bytes on go zero-copy when send_zc is on.
  static constexpr size_t kZcMinBytes = 64 * 1024;
  // Registered file table slots at most (a connection slot beyond it uses its plain fd).
  static constexpr uint32_t kMaxFixedFiles = 16384;

  explicit UringBackend(LoopPort loop);
  bool init(std::string* why);
  static uint64_t tag(Op op, uint32_t gen, uint32_t slot) {
    return CompletionTag::make(op, gen, slot);
  }
  io_uring_sqe* sqe();
  void arm_accept(Listener& l);
  void arm_recv(Connection& c);
  void cancel_recv(Connection& c);
  bool backed_up(const Connection& c) const;
  void submit_send(Connection& c);
  void on_write_poll_cqe(Connection& c);
  void on_hup_poll_cqe(Connection& c, int res);
  void cancel(uint64_t target);
  void maybe_finish_close(Connection& c);
  void handle(io_uring_cqe* cqe);
  void on_accept_cqe(uint32_t index, int res, uint32_t flags);
  void on_recv_cqe(Connection& c, int res, uint32_t flags);
  void deliver(Connection* c, uint32_t bid, int res);
  void on_send_cqe(Connection& c, int res, uint32_t flags);
  bool fixed(const Connection& c) const { return c.id().slot < fixed_slots_; }
  void name_socket(io_uring_sqe* s, const Connection& c) const;
  void init_fixed_files(io_uring_probe* probe, uint32_t ring_features);
  void on_connect_cqe(Connection& c, int res);
  bool unpin(Connection& c);  // false if a ring buffer is still queued
  void on_listen_poll_cqe(uint32_t index);
  bool take_back(uint32_t id);  // BufferPool release hook
  void note_delivered(uint32_t bid);
  void publish_ring();
  void trim_ring_now();
  void cancel_everything();
  void rearm_starved();
  uint32_t alloc_send_ctx();
  void free_send_ctx(uint32_t i);

  LoopPort loop_;
  io_uring ring_{};
  bool ring_ok_ = false;
  const char* setup_mode_ = "none";
  UringFeatures features_;
  // Set while a bundle's buffers are handed over: its flushes wait until all are delivered.
  Connection* delivering_ = nullptr;
  // Provided-buffer ring: ids [first_id_, first_id_ + ring_entries_) of the loop's pool.
  io_uring_buf_ring* br_ = nullptr;
  size_t br_bytes_ = 0;
  uint32_t ring_entries_ = 0;
  uint32_t first_id_ = 0;
  std::vector<uint16_t> stash_;    // returned ring buffers not yet published, warmest last
  uint32_t ring_taken_ = 0;        // ring buffers delivered since the last publish
  uint32_t ring_available_ = 0;    // buffers the kernel can still pick (as far as we know)
  std::vector<uint64_t> starved_;  // connections waiting for ring buffers after ENOBUFS
  // Ring entry each buffer was last added at: a bundle names only its first buffer, the rest
  // are the entries after it.
  std::vector<uint16_t> ring_pos_;
  // Ring buffers the kernel filled at least once since their pages were last given back, and
  // which of them are in the kernel's hands right now: idle ones can be trimmed.
  std::vector<uint8_t> ring_dirty_;
  std::vector<uint8_t> ring_held_;
  size_t ring_dirty_idle_ = 0;
  uint64_t ring_deliveries_ = 0;  // since the last trim
  bool trim_due_ = false;         // trim_idle() decided; poll() trims when it is safe
  bool defer_taskrun_ = false;    // set up with DEFER_TASKRUN (see trim_idle)
  std::vector<std::unique_ptr<SendCtx>> send_ctx_;  // stable addresses while in flight
  uint32_t send_free_ = UINT32_MAX;
  std::vector<FdWatcher*> watchers_;
  std::vector<int> watcher_fds_;
  // Registered file table: slot i holds connection slot i's socket. fixed_fd_[i] is what the
  // install SQE reads (sized once: it must not move while an update is queued).
  uint32_t fixed_slots_ = 0;
  std::vector<int> fixed_fd_;
  int no_file_ = -1;  // what a removal installs
  uint64_t zc_sends_ = 0;
  uint64_t zc_copied_ = 0;
  std::vector<uint8_t> accept_armed_;   // per listener index: an accept (or its poll) in flight
  std::vector<uint8_t> wait_readable_;  // per listener index: poll before the next accept
};

}  // namespace reactor
