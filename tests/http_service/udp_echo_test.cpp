// reactord's UDP echo (--listen udp-echo=ADDR), per backend: sizes 0..65507 byte-exact, 10,000
// datagrams in windows with retransmission, several concurrent clients, and IPv6 loopback.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/backends.h"
#include "tests/support/net.h"
#include "tests/support/payload.h"
#include "tests/support/process.h"

namespace {

using reactor::BackendKind;

constexpr size_t kMaxUdp4 = 65507;  // 65,535 - 20 (IPv4 header) - 8 (UDP header)

// A connected UDP client socket with big buffers (so 64 KiB datagrams and bursts fit).
rt::Fd udp_client(const reactor::SocketAddress& server, std::string* error) {
  rt::Fd fd(::socket(server.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *error = std::string("socket: ") + strerror(errno);
    return rt::Fd();
  }
  int size = 4 << 20;
  for (int opt : {SO_RCVBUF, SO_SNDBUF}) {
    // The FORCE variants pass net.core.[rw]mem_max when permitted; else take what is allowed.
    int force = opt == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
    if (setsockopt(fd.get(), SOL_SOCKET, force, &size, sizeof size) != 0)
      setsockopt(fd.get(), SOL_SOCKET, opt, &size, sizeof size);
  }
  if (::connect(fd.get(), server.get(), server.len) != 0) {
    *error = std::string("connect: ") + strerror(errno);
    return rt::Fd();
  }
  return fd;
}

// Receives one datagram (bounded wait); nullopt on timeout. Truncation is an error.
std::optional<std::string> recv_datagram(int fd, int timeout_ms, std::string* error) {
  static thread_local std::vector<char> buf(kMaxUdp4 + 1024);
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
  ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      *error = std::string("recv: ") + strerror(errno);
    return std::nullopt;
  }
  if (static_cast<size_t>(n) > buf.size()) {
    *error = "datagram of " + std::to_string(n) + " bytes truncated";
    return std::nullopt;
  }
  return std::string(buf.data(), static_cast<size_t>(n));
}

class UdpEcho : public testing::TestWithParam<BackendKind> {
 protected:
  bool start(const std::string& addr = "127.0.0.1:0") {
    [&] {
      RT_START_REACTORD(server_, GetParam(), {"--threads", "2", "--listen", "udp-echo=" + addr});
    }();
    return !IsSkipped() && !HasFatalFailure();
  }

  // Sends every datagram and checks its echo: content and size exact. Lost datagrams (UDP may
  // drop) are sent again; duplicates that retransmission causes must still match. Every
  // datagram starts with its 4-byte index so echoes can be told apart (size >= 4 only).
  void exchange_all(const reactor::SocketAddress& server, const std::vector<std::string>& dgrams,
                    size_t window, int timeout_ms) {
    std::string err;
    rt::Fd fd = udp_client(server, &err);
    ASSERT_TRUE(fd) << err;
    const size_t n = dgrams.size();
    std::vector<bool> acked(n, false);
    std::vector<uint64_t> sent_at(n, 0);
    size_t next = 0, acked_count = 0, outstanding = 0, resent = 0, duplicates = 0;
    uint64_t deadline = rt::now_ms() + static_cast<uint64_t>(timeout_ms);
    const uint64_t kRetransmitMs = 200;
    std::map<size_t, bool> in_flight;  // index -> sent
    auto send_one = [&](size_t i) {
      ssize_t w = ::send(fd.get(), dgrams[i].data(), dgrams[i].size(), MSG_DONTWAIT);
      // A full send buffer or a transient error: retransmission covers it.
      (void)w;
      sent_at[i] = rt::now_ms();
    };
    while (acked_count < n) {
      ASSERT_LT(rt::now_ms(), deadline)
          << "timed out: " << acked_count << " of " << n << " echoed (" << resent << " resent)";
      while (outstanding < window && next < n) {
        send_one(next);
        in_flight[next] = true;
        ++next;
        ++outstanding;
      }
      std::optional<std::string> d = recv_datagram(fd.get(), 50, &err);
      ASSERT_TRUE(err.empty()) << err;
      if (d) {
        ASSERT_GE(d->size(), 4u) << "echo shorter than any datagram sent";
        uint32_t idx;
        memcpy(&idx, d->data(), 4);
        ASSERT_LT(idx, n) << "echo of a datagram never sent";
        ASSERT_EQ(d->size(), dgrams[idx].size()) << "echo #" << idx << " has the wrong size";
        ASSERT_TRUE(*d == dgrams[idx]) << "echo #" << idx << " differs";
        if (acked[idx]) {
          ++duplicates;  // an echo of a retransmitted copy
          continue;
        }
        acked[idx] = true;
        ++acked_count;
        in_flight.erase(idx);
        --outstanding;
        continue;
      }
      // Nothing for a while: resend what has waited too long.
      uint64_t now = rt::now_ms();
      for (auto& [i, unused] : in_flight) {
        if (now - sent_at[i] >= kRetransmitMs) {
          send_one(i);
          ++resent;
        }
      }
    }
    EXPECT_EQ(acked_count, n);
    // Stray echoes still on their way must match too.
    for (;;) {
      std::optional<std::string> d = recv_datagram(fd.get(), 100, &err);
      if (!d) break;
      uint32_t idx;
      ASSERT_GE(d->size(), 4u);
      memcpy(&idx, d->data(), 4);
      ASSERT_LT(idx, n);
      ASSERT_TRUE(*d == dgrams[idx]);
      ++duplicates;
    }
    ASSERT_LE(duplicates, resent) << "more echoes than datagrams sent";
    RecordProperty("resent", static_cast<int>(resent));
  }

  rt::Reactord server_;
};

std::string indexed(uint32_t index, size_t size, uint64_t seed) {
  std::string d = rt::random_bytes(size, seed);
  memcpy(d.data(), &index, 4);
  return d;
}

// One datagram of each size, each echoed exactly (retried a few times: UDP may drop).
void check_sizes(const reactor::SocketAddress& addr, const std::vector<size_t>& sizes) {
  std::string err;
  rt::Fd fd = udp_client(addr, &err);
  ASSERT_TRUE(fd) << err;
  for (size_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string d = rt::random_bytes(size, size + 1);
    bool echoed = false;
    for (int attempt = 0; attempt < 10 && !echoed; ++attempt) {
      ssize_t w = ::send(fd.get(), d.data(), d.size(), 0);
      ASSERT_EQ(w, static_cast<ssize_t>(size)) << strerror(errno);
      uint64_t until = rt::now_ms() + 1000;
      while (!echoed && rt::now_ms() < until) {
        std::optional<std::string> got = recv_datagram(fd.get(), 200, &err);
        ASSERT_TRUE(err.empty()) << err;
        if (!got) continue;
        // Only this datagram is in flight (earlier sizes were drained): it must match.
        ASSERT_EQ(got->size(), size);
        ASSERT_TRUE(*got == d) << "echo differs";
        echoed = true;
      }
    }
    EXPECT_TRUE(echoed) << "no echo in 10 tries";
    // Echoes of retried copies, if any, before the next size.
    while (recv_datagram(fd.get(), 50, &err)) {
    }
  }
}

TEST_P(UdpEcho, SizesUpToLargestIpv4Payload) {
  if (!start()) return;
  check_sizes(server_.address("udp-echo"), {0, 1, 1472, 1473, 8192, 65'000, kMaxUdp4});
  EXPECT_TRUE(server_.child().running());
}

TEST_P(UdpEcho, TenThousandDatagramsWindowed) {
  if (!start()) return;
  std::mt19937_64 rng(7);
  std::vector<std::string> dgrams;
  const uint32_t n = 10'000;
  for (uint32_t i = 0; i < n; ++i) dgrams.push_back(indexed(i, 4 + rng() % 1400, i));
  exchange_all(server_.address("udp-echo"), dgrams, 64, 120'000);
}

TEST_P(UdpEcho, BigDatagramsWindowed) {
  if (!start()) return;
  std::vector<std::string> dgrams;
  const uint32_t n = 300;
  for (uint32_t i = 0; i < n; ++i)
    dgrams.push_back(indexed(i, i % 3 == 0 ? kMaxUdp4 : 8192 + i * 100, i + 99));
  exchange_all(server_.address("udp-echo"), dgrams, 16, 120'000);
}

// Several clients at once: each gets exactly its own datagrams back (the reply goes to the
// sender of each datagram, whichever loop's socket received it).
TEST_P(UdpEcho, ConcurrentClientsGetTheirOwnEchoes) {
  if (!start()) return;
  const reactor::SocketAddress addr = server_.address("udp-echo");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> dgrams;
      for (uint32_t i = 0; i < 2000; ++i) {
        // Each client's payloads are distinct (the seed), so a crossed echo cannot match.
        dgrams.push_back(indexed(i, 4 + (i * 37 + static_cast<uint32_t>(t)) % 900,
                                 static_cast<uint64_t>(t) * 1'000'000 + i));
      }
      exchange_all(addr, dgrams, 64, 120'000);
    });
  }
  for (auto& th : threads) th.join();
}

TEST_P(UdpEcho, Ipv6Loopback) {
  // Is IPv6 loopback usable here at all?
  {
    rt::Fd probe(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    reactor::SocketAddress a = rt::parse_address("[::1]:0");
    if (!probe || ::bind(probe.get(), a.get(), a.len) != 0)
      GTEST_SKIP() << "IPv6 loopback unavailable: " << strerror(errno);
  }
  if (!start("[::1]:0")) return;
  reactor::SocketAddress addr = server_.address("udp-echo");
  ASSERT_EQ(addr.family(), AF_INET6);
  std::vector<std::string> dgrams;
  for (uint32_t i = 0; i < 2000; ++i) dgrams.push_back(indexed(i, 4 + i % 1200, i + 5));
  exchange_all(addr, dgrams, 64, 120'000);
  // 65,527 is the largest IPv6 UDP payload (the IPv6 header is not part of the length).
  check_sizes(addr, {0, 1, 1232, 8192, kMaxUdp4, 65'527});
}

INSTANTIATE_TEST_SUITE_P(Backends, UdpEcho, testing::ValuesIn(rt::kAllBackends), rt::BackendName());

}  // namespace
