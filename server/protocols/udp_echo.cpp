// UdpEchoService: batch receive, batch send back; a full batch means more may be waiting.
#include "server/protocols/udp_echo.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "reactor/log.h"

namespace reactord {

int open_udp_socket(const reactor::SocketAddress& addr, bool reuse_port, int* err,
                    std::string* error) {
  int fd = socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    *error = std::string("socket: ") + strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, addr.get(), addr.len) != 0) {
    *err = errno;
    *error = std::string("bind: ") + strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

UdpEchoService::UdpEchoService(reactor::EventLoop& loop, int fd)
    : loop_(loop), fd_(fd), data_(new char[kBatch * kMaxDatagram]) {
  loop_.backend().watch(fd_, this);
}

// Destroyed after its loop has stopped (the backend, and its watch, are gone by then).
UdpEchoService::~UdpEchoService() {
  ::close(fd_);
}

void UdpEchoService::on_readable() {
  // Bounded per wake-up so one flood cannot starve the loop; with io_uring's multishot poll
  // a full last batch re-posts itself, since no new edge may come for what is already queued.
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < kBatch; ++i) {
      iov_[i].iov_base = data_.get() + static_cast<size_t>(i) * kMaxDatagram;
      iov_[i].iov_len = kMaxDatagram;
      memset(&msgs_[i].msg_hdr, 0, sizeof msgs_[i].msg_hdr);
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &peers_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof peers_[i];
    }
    int n = recvmmsg(fd_, msgs_, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        LOG_WARN("udp recvmmsg: %s", strerror(errno));
      return;
    }
    uint64_t bytes = 0;
    for (int i = 0; i < n; ++i) {
      iov_[i].iov_len = msgs_[i].msg_len;  // send back exactly what came in
      bytes += msgs_[i].msg_len;
    }
    loop_.stats().bytes_in.add(bytes);
    int sent = 0;
    while (sent < n) {
      int m = sendmmsg(fd_, msgs_ + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT);
      if (m < 0) {
        if (errno == EINTR) continue;
        // A full socket buffer drops datagrams, as UDP may; never block the loop for it.
        break;
      }
      sent += m;
    }
    loop_.stats().bytes_out.add(bytes);
    datagrams_ += static_cast<uint64_t>(n);
    if (n < kBatch) return;
  }
  loop_.post([this](reactor::EventLoop&) { on_readable(); });
}

}  // namespace reactord
