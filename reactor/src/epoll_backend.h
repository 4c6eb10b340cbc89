// The readiness backend: emulates the operation-level seam with edge-triggered epoll plus
// non-blocking syscalls (try the syscall first; wait only on EAGAIN).
#pragma once

#include <sys/epoll.h>

#include <vector>

#include "reactor/src/completion_tag.h"
#include "reactor/src/io_backend.h"

namespace reactor {

// Thread affinity: owned and used by one EventLoop thread.
//
// Each socket is registered once, edge-triggered, for IN|OUT|RDHUP: no epoll_ctl on the hot
// path. Readiness is remembered in the connection's backend state so a paused reader or a capped
// one can be resumed without a fresh edge. Work per event is capped (read_batch reads,
// accept_batch accepts); what is left goes on a deferred list served next turn with a zero
// timeout, so one busy connection cannot starve the rest.
class EpollBackend final : public IoBackend {
 public:
  explicit EpollBackend(LoopPort loop);
  ~EpollBackend() override;

  BackendKind kind() const override { return BackendKind::kEpoll; }
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

 private:
  enum Bits : uint16_t {
    kRecvOn = 1 << 0,    // the loop wants bytes
    kReadable = 1 << 1,  // an edge said readable and we have not seen EAGAIN since
    kWritable = 1 << 2,  // the kernel took our last write whole
    kDeferred = 1 << 3,  // on the deferred list
    kHup = 1 << 4,       // RDHUP/HUP/ERR seen: read to EOF, no short-read shortcut
    kRegistered = 1 << 5,
    kWide = 1 << 6,  // the last read filled its buffer: read into a chain next (bulk stream)
  };
  // Buffers one wide read fills (readv): a bulk stream then costs one recv and one send per
  // kWideBuffers * buffer_size bytes instead of per buffer.
  static constexpr uint32_t kWideBuffers = 16;
  enum Kind : uint32_t { kConn = 0, kListener = 1, kWatcher = 2 };

  static uint64_t tag(Kind k, uint32_t gen, uint32_t index) {
    return CompletionTag::make(k, gen, index);
  }
  // Per-connection readiness, kept in the connection's backend state (reset in add_connection).
  static uint16_t& bits(Connection& c) { return LoopPort::backend_state<uint16_t>(c); }
  Connection* find_conn(uint64_t t);
  void on_event(uint64_t data, uint32_t events);
  void fail_connect_later(Connection& c, int err);
  void conn_event(Connection& c, uint32_t events);
  bool hangup(Connection& c, uint32_t events);
  void do_read(Connection& c);
  // readv into a chain (kWide), delivered with one flush: > 0 bytes, 0 EOF, or -errno.
  ssize_t read_wide(Connection& c, uint32_t first_id, size_t* want);
  void do_accept(Listener& l);
  void defer(uint64_t t);
  void run_deferred();

  LoopPort loop_;
  int epfd_;
  std::vector<epoll_event> events_;
  std::vector<FdWatcher*> watchers_;
  std::vector<uint64_t> deferred_;
  std::vector<uint64_t> deferred_running_;
  bool starved_ = false;  // the buffer pool refused a read: retry soon, not in a hot spin
  // Set while read_wide() hands a chain over: its flushes wait until the chain is delivered.
  Connection* delivering_ = nullptr;
};

}  // namespace reactor
