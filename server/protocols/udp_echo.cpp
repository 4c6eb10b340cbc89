// UdpEchoService: batch receive, drop what must not be answered, batch send back; a full
// batch means more may be waiting. UdpEchoPolicy: who must not be answered.
#include "server/protocols/udp_echo.h"

#include <ifaddrs.h>
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

int probe_udp_address_free(const reactor::SocketAddress& addr) {
  if (addr.is_unix() || addr.port() == 0) return 0;
  int err = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    int fd = socket(addr.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    // No SO_REUSEADDR: on UDP it would let this bind share the port with a socket that set
    // it too (every reactord socket does), and the probe would see a free port.
    int one = 1;
    if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    err = bind(fd, addr.get(), addr.len) == 0 ? 0 : errno;
    ::close(fd);
    if (err != EADDRINUSE) break;
    usleep(25 * 1000);
  }
  return err;
}

bool UdpEchoPolicy::to_key(const sockaddr_storage& ss, Key* out) {
  Key k;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    k.family = AF_INET;
    memcpy(k.addr.data(), &a->sin_addr, 4);
    k.port = ntohs(a->sin_port);
    k.any = a->sin_addr.s_addr == htonl(INADDR_ANY);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    k.port = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      k.family = AF_INET;
      memcpy(k.addr.data(), a->sin6_addr.s6_addr + 12, 4);
      k.any = memcmp(k.addr.data(), "\0\0\0\0", 4) == 0;
    } else {
      k.family = AF_INET6;
      memcpy(k.addr.data(), &a->sin6_addr, 16);
      k.any = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
    }
  } else {
    return false;
  }
  *out = k;
  return true;
}

void UdpEchoPolicy::add_own(const reactor::SocketAddress& bound) {
  Key k;
  if (!to_key(bound.storage, &k)) return;
  own_.push_back(k);
  if (!k.any) local_.push_back(k);  // a specific bound address is one of ours, whatever it is
}

void UdpEchoPolicy::note_local_address(const reactor::SocketAddress& a) {
  Key k;
  if (to_key(a.storage, &k)) local_.push_back(k);
}

void UdpEchoPolicy::note_interface_addresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    REACTOR_LOG_WARN("udp-echo: getifaddrs: %s (only loopback counts as local)", strerror(errno));
    return;
  }
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    note_local_address(reactor::SocketAddress::from_sockaddr(i->ifa_addr, len));
  }
  freeifaddrs(list);
}

bool UdpEchoPolicy::is_local(const Key& k) const {
  if (k.family == AF_INET && k.addr[0] == 127) return true;  // 127.0.0.0/8
  if (k.family == AF_INET6) {
    static const uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (memcmp(k.addr.data(), kLoopback6, 16) == 0) return true;
  }
  for (const Key& l : local_) {
    if (l.family == k.family && l.addr == k.addr) return true;
  }
  return false;
}

UdpEchoPolicy::Verdict UdpEchoPolicy::classify(const sockaddr_storage& source) const {
  Key k;
  if (!to_key(source, &k)) return Verdict::kAnswer;
  for (const Key& o : own_) {
    if (o.port != k.port) continue;
    // A socket bound to one address sends from it alone; a wildcard one from any of ours.
    bool same_host = o.any ? is_local(k) : (o.family == k.family && o.addr == k.addr);
    if (same_host) return Verdict::kOwnPort;
  }
  if (k.port < kFirstUnprivilegedPort) return Verdict::kLowPort;
  return Verdict::kAnswer;
}

UdpEchoStats* UdpEchoPolicy::add_stats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.push_back(std::make_unique<UdpEchoStats>());
  return stats_.back().get();
}

UdpEchoService::UdpEchoService(reactor::EventLoop& loop, int fd, const UdpEchoPolicy& policy,
                               UdpEchoStats& stats)
    : loop_(loop), fd_(fd), policy_(policy), stats_(stats), data_(new char[kBatch * kMaxDatagram]) {
  loop_.watch(fd_, this);
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
        REACTOR_LOG_WARN("udp recvmmsg: %s", strerror(errno));
      return;
    }
    uint64_t bytes_in = 0, bytes_out = 0;
    int answer = 0;  // the datagrams to answer are moved to the front, in order
    for (int i = 0; i < n; ++i) {
      const unsigned len = msgs_[i].msg_len;
      bytes_in += len;
      switch (policy_.classify(peers_[i])) {
        case UdpEchoPolicy::Verdict::kOwnPort:
          stats_.ignored_own_port.add();
          continue;
        case UdpEchoPolicy::Verdict::kLowPort:
          stats_.ignored_low_port.add();
          continue;
        case UdpEchoPolicy::Verdict::kAnswer:
          break;
      }
      iov_[i].iov_len = len;                      // send back exactly what came in
      if (answer != i) msgs_[answer] = msgs_[i];  // still points at iov_[i] and peers_[i]
      ++answer;
      bytes_out += len;
    }
    loop_.stats().bytes_in.add(bytes_in);
    stats_.datagrams.add(static_cast<uint64_t>(n));
    int sent = 0;
    while (sent < answer) {
      int m = sendmmsg(fd_, msgs_ + sent, static_cast<unsigned>(answer - sent), MSG_DONTWAIT);
      if (m < 0) {
        if (errno == EINTR) continue;
        // A full socket buffer drops datagrams, as UDP may; never block the loop for it.
        break;
      }
      sent += m;
    }
    loop_.stats().bytes_out.add(bytes_out);
    if (n < kBatch) return;
  }
  loop_.post([this](reactor::EventLoop&) { on_readable(); });
}

Protocol udp_echo_protocol() {
  Protocol p;
  p.name = "udp-echo";
  p.transport = Transport::kUdp;
  p.help =
      "udp-echo never answers datagrams from its own ports or from ports\n"
      "below 1024 (echo loops); /metrics counts them in\n"
      "reactord_udp_ignored_total.";
  p.make_datagram_service = [](reactor::EventLoop& loop, int fd, const ProtocolContext& ctx) {
    return std::make_unique<UdpEchoService>(loop, fd, ctx.udp, *ctx.udp.add_stats());
  };
  return p;
}

}  // namespace reactord
