// Client-side socket helpers for tests: connect with a timeout, sendall/recv with deadlines,
// a concurrent send+receive pump with byte-exact checking, a many-connection epoll client,
// and /proc/net/tcp inspection. Every wait is bounded; every socket is non-blocking and
// close-on-exec (so nothing leaks into spawned servers).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/socket_address.h"
#include "tests/support/payload.h"

namespace rt {

// Move-only owner of a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

// Milliseconds on the monotonic clock (for deadlines only; tests never assert durations).
uint64_t now_ms();
void sleep_ms(int ms);
// Polls `pred` every `step_ms` until it holds or `timeout_ms` passes; returns its last value.
bool wait_until(const std::function<bool()>& pred, int timeout_ms, int step_ms = 10);

reactor::SocketAddress parse_address(const std::string& text);
reactor::SocketAddress loopback4(int port);

// Non-blocking, close-on-exec socket connected to `addr` (waits for the handshake up to
// timeout_ms). On failure returns an empty Fd and the reason in *error.
Fd connect_to(const reactor::SocketAddress& addr, int timeout_ms, std::string* error,
              int rcvbuf = 0, int sndbuf = 0);
// Sets SO_LINGER {1, 0}: close() then sends RST.
void set_linger_reset(int fd);

// Sends every byte (polling on EAGAIN) or fails with *error at the deadline.
bool send_all(int fd, std::string_view data, int timeout_ms, std::string* error);

enum class RecvEnd { kCount, kEof, kReset, kTimeout, kError };
const char* recv_end_name(RecvEnd e);
inline void PrintTo(RecvEnd e, std::ostream* os) {
  *os << recv_end_name(e);
}
struct RecvResult {
  std::string data;
  RecvEnd end = RecvEnd::kTimeout;
  int err = 0;
};
// Reads until `n` bytes arrived (kCount), EOF, an error or the deadline.
RecvResult recv_exact(int fd, size_t n, int timeout_ms);
// Reads until EOF (kEof), a reset/error, or the deadline; stops early past `max_bytes`.
RecvResult recv_until_eof(int fd, int timeout_ms, size_t max_bytes = 1 << 26);

// Sends `payload` while reading concurrently (so big payloads cannot deadlock on full socket
// buffers) until `expect` bytes came back. shut_wr: shutdown(SHUT_WR) after the last byte;
// want_eof: then also read until EOF, and report whether it came.
struct ExchangeResult {
  std::string received;
  bool ok = false;  // every byte sent, `expect` bytes received (and EOF, if wanted)
  bool eof = false;
  std::string error;
};
ExchangeResult exchange(int fd, std::string_view payload, size_t expect, int timeout_ms,
                        bool shut_wr = false, bool want_eof = false);

// Streams `total` bytes of a PatternStream through one connection, checking every received
// byte against the expected (transformed) stream and keeping FNV-1a checksums of what arrived
// and of what was expected. Steps are explicit so a test can pause reading, signal a server
// mid-way, and so on.
class StreamPump {
 public:
  StreamPump(int fd, uint64_t total, uint64_t seed, Transform t);
  // One poll round of at most wait_ms. Returns false once an error has been recorded.
  bool step(int wait_ms, bool do_send = true, bool do_recv = true);
  // Steps until `until()` holds (default: every byte received), or the deadline (recorded as
  // an error). Returns false on error or timeout.
  bool run(int timeout_ms, bool do_send = true, bool do_recv = true,
           const std::function<bool()>& until = {});
  // shutdown(SHUT_WR); then reads until EOF. Returns true when EOF came with no extra bytes.
  bool finish_with_eof(int timeout_ms);

  uint64_t total() const { return total_; }
  uint64_t sent() const { return sent_; }
  uint64_t received() const { return received_; }
  bool all_sent() const { return sent_ == total_; }
  bool done() const { return received_ == total_; }
  bool eof() const { return eof_; }
  const std::string& error() const { return error_; }
  int64_t first_mismatch() const { return mismatch_at_; }
  uint64_t received_checksum() const { return recv_hash_; }
  uint64_t expected_checksum() const { return expect_hash_; }

 private:
  bool do_send_some();
  bool do_recv_some();

  int fd_;
  uint64_t total_;
  PatternStream stream_;
  Transform transform_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  bool eof_ = false;
  std::string error_;
  int64_t mismatch_at_ = -1;
  uint64_t recv_hash_ = kFnvOffset;
  uint64_t expect_hash_ = kFnvOffset;
  std::vector<char> out_;  // pending chunk [out_pos_, out_len_) at stream offset sent_
  size_t out_pos_ = 0;
  size_t out_len_ = 0;
  std::vector<char> in_;
  std::vector<char> expect_;
};

// Opens `n` concurrent connections with an epoll client; connection i sends message(i) and
// must get back exactly transform(message(i)). All connections stay open until close_all()
// (or destruction), so the server holds all n at once.
class ConnectionSwarm {
 public:
  bool run(const reactor::SocketAddress& addr, size_t n,
           const std::function<std::string(size_t)>& message, Transform t, int timeout_ms,
           std::string* error);
  size_t completed() const { return completed_; }
  std::vector<Fd>& fds() { return fds_; }
  void close_all() { fds_.clear(); }

 private:
  std::vector<Fd> fds_;
  size_t completed_ = 0;
};

// TCP sockets (IPv4 and IPv6, from /proc/net/tcp{,6}) whose local port is `port` and whose
// state is `state` (hex code as in the kernel: 0x01 ESTABLISHED, 0x06 TIME_WAIT, 0x0A LISTEN).
// The kernel does not read these files atomically: while other tests open and close sockets an
// entry can be missed, so use this for "at least" checks; count a server's connections exactly
// with socket_fd_count() (process.h).
int count_tcp_sockets(int local_port, int state);
constexpr int kTcpEstablished = 0x01;
constexpr int kTcpTimeWait = 0x06;
constexpr int kTcpListen = 0x0A;

// A TCP port on 127.0.0.1 that is bound but not listening while the returned Fd lives:
// connecting to it is refused, and nobody else can take it meanwhile.
Fd reserve_refusing_port(int* port);

// Listeners made by the test to hand to a child, as a service manager does (socket activation):
// blocking and inheritable; -1 on failure. A TCP one on 127.0.0.1 port 0 (*port gets the
// port), a unix stream one at `path`.
int listen_loopback(int* port);
int listen_unix(const std::string& path);

// A fresh directory under /tmp (short paths: unix socket paths are limited to 107 bytes),
// removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` to file(name) and returns its path.
  std::string write(const std::string& name, std::string_view text) const;

 private:
  std::string path_;
};

// Raises this process's soft RLIMIT_NOFILE to its hard limit; returns the new soft limit.
long raise_nofile_limit();

}  // namespace rt
