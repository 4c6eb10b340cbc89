// UDP echo (RFC 862 over UDP): one SO_REUSEPORT socket per loop, recvmmsg/sendmmsg batches,
// each datagram sent back unchanged to its sender - unless answering could start a loop.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/fd_watcher.h"
#include "reactor/loop_stats.h"
#include "reactor/socket_address.h"
#include "server/protocols/protocol.h"

namespace reactord {

// Opens a non-blocking UDP socket bound to `addr` (SO_REUSEADDR, SO_REUSEPORT when asked).
// Returns the fd, or -1 with errno in *err and a reason in *error.
int open_udp_socket(const reactor::SocketAddress& addr, bool reuse_port, int* err,
                    std::string* error);

// The UDP twin of reactor::probe_address_free: 0 when nobody holds `addr`, else the errno of
// a bind without SO_REUSEADDR/SO_REUSEPORT (EADDRINUSE when another socket - another reactord's
// reuseport group included - is bound to it). Retried for a short while, because the sockets of
// a process that has just exited may stay bound until its io_uring instance is torn down.
int probe_udp_address_free(const reactor::SocketAddress& addr);

// One loop's UDP echo counters: written by that loop only, read by /metrics on any loop.
struct UdpEchoStats {
  reactor::Counter datagrams;         // received (answered or not)
  reactor::Counter ignored_own_port;  // sent from one of this server's udp-echo sockets
  reactor::Counter ignored_low_port;  // sent from a port below 1024 (or port 0)
};

// Who may be answered. An echo server that answers another echo service - itself, a sibling
// udp-echo socket of the same server, or a well-known service on a port below 1024 (echo 7,
// chargen 19, daytime 13, ...) - ping-pongs one forged datagram forever at full speed
// (CVE-1999-0103-style loops). So datagrams from those sources are dropped and counted.
//
// Thread affinity: add_own()/note_local_address() on the main thread before the loops start;
// classify() on any loop afterwards (read-only by then); add_stats()/for_each_stats() lock.
class UdpEchoPolicy {
 public:
  enum class Verdict : uint8_t { kAnswer, kOwnPort, kLowPort };
  static constexpr int kFirstUnprivilegedPort = 1024;

  // One of this server's udp-echo sockets is bound to `bound` (its real port, not 0).
  void add_own(const reactor::SocketAddress& bound);
  // An address of this host: a wildcard-bound socket sends from any of them. Loopback ranges
  // (127/8, ::1) are always local; the interface addresses are read once by
  // note_interface_addresses().
  void note_local_address(const reactor::SocketAddress& a);
  void note_interface_addresses();
  Verdict classify(const sockaddr_storage& source) const;
  bool has_own() const { return !own_.empty(); }

  UdpEchoStats* add_stats();
  template <typename Fn>
  void for_each_stats(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : stats_) fn(*s);
  }

 private:
  // An address reduced to what is compared: family (v4-mapped IPv6 counts as IPv4), the 16
  // address bytes, the port.
  struct Key {
    int family = 0;
    std::array<uint8_t, 16> addr{};
    int port = 0;
    bool any = false;  // wildcard address (0.0.0.0 or ::)
  };
  static bool to_key(const sockaddr_storage& ss, Key* out);
  bool is_local(const Key& k) const;

  std::vector<Key> own_;
  std::vector<Key> local_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<UdpEchoStats>> stats_;
};

// Thread affinity: owned by one loop; on_readable runs on that loop's thread.
class UdpEchoService final : public reactor::FdWatcher {
 public:
  static constexpr int kBatch = 32;              // datagrams per recvmmsg/sendmmsg
  static constexpr size_t kMaxDatagram = 65536;  // >= 65,507, the largest UDP/IPv4 payload

  // `policy` (shared, read-only while loops run) and `stats` (this loop's) outlive the service.
  UdpEchoService(reactor::EventLoop& loop, int fd, const UdpEchoPolicy& policy,
                 UdpEchoStats& stats);
  ~UdpEchoService() override;
  void on_readable() override;
  uint64_t datagrams() const { return stats_.datagrams.get(); }
  int fd() const { return fd_; }

 private:
  reactor::EventLoop& loop_;
  int fd_;
  const UdpEchoPolicy& policy_;
  UdpEchoStats& stats_;
  std::unique_ptr<char[]> data_;  // kBatch * kMaxDatagram, allocated once
  mmsghdr msgs_[kBatch];
  iovec iov_[kBatch];
  sockaddr_storage peers_[kBatch];
};

// --listen udp-echo=HOST:PORT: one UdpEchoService per loop, answering as ctx.udp allows.
Protocol udp_echo_protocol();

}  // namespace reactord
