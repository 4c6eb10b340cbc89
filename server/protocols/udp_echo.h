// UDP echo (RFC 862 over UDP): one SO_REUSEPORT socket per loop, recvmmsg/sendmmsg batches,
// each datagram sent back unchanged to its sender.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reactor/event_loop.h"
#include "reactor/io_backend.h"
#include "reactor/socket_address.h"

namespace reactord {

// Opens a non-blocking UDP socket bound to `addr` (SO_REUSEADDR, SO_REUSEPORT when asked).
// Returns the fd, or -1 with errno in *err and a reason in *error.
int open_udp_socket(const reactor::SocketAddress& addr, bool reuse_port, int* err,
                    std::string* error);

// Thread affinity: owned by one loop; on_readable runs on that loop's thread.
class UdpEchoService final : public reactor::FdWatcher {
 public:
  static constexpr int kBatch = 32;              // datagrams per recvmmsg/sendmmsg
  static constexpr size_t kMaxDatagram = 65536;  // >= 65,507, the largest UDP/IPv4 payload

  UdpEchoService(reactor::EventLoop& loop, int fd);
  ~UdpEchoService() override;
  void on_readable() override;
  uint64_t datagrams() const { return datagrams_; }
  int fd() const { return fd_; }

 private:
  reactor::EventLoop& loop_;
  int fd_;
  std::unique_ptr<char[]> data_;  // kBatch * kMaxDatagram, allocated once
  mmsghdr msgs_[kBatch];
  iovec iov_[kBatch];
  sockaddr_storage peers_[kBatch];
  uint64_t datagrams_ = 0;
};

}  // namespace reactord
