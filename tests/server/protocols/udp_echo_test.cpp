// reactord's UDP echo (--listen udp-echo=ADDR), per backend: sizes 0..65507 byte-exact, 10,000
// datagrams in windows with retransmission, several concurrent clients, IPv6 loopback, and no
// answer to datagrams from the server's own ports or from ports below 1024 (no echo loops).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/protocols/udp_echo.h"
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

// ---------------------------------------------------------------- who is not answered

// GET /metrics over a fresh connection: "name{labels}" -> value (0 when absent).
std::map<std::string, double> scrape_metrics(const reactor::SocketAddress& http) {
  std::map<std::string, double> m;
  std::string err;
  rt::Fd fd = rt::connect_to(http, 10000, &err);
  if (!fd) {
    ADD_FAILURE() << "connect to /metrics: " << err;
    return m;
  }
  if (!rt::send_all(fd.get(), "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                    10000, &err)) {
    ADD_FAILURE() << "send /metrics: " << err;
    return m;
  }
  rt::RecvResult r = rt::recv_until_eof(fd.get(), 10000);
  size_t body = r.data.find("\r\n\r\n");
  if (r.end != rt::RecvEnd::kEof || body == std::string::npos) {
    ADD_FAILURE() << "no whole /metrics response: " << r.data.substr(0, 200);
    return m;
  }
  std::istringstream lines(r.data.substr(body + 4));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    m[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return m;
}

const std::string kOwnPortKey = "reactord_udp_ignored_total{reason=\"own_port\"}";
const std::string kLowPortKey = "reactord_udp_ignored_total{reason=\"low_port\"}";
const std::string kDatagramsKey = "reactord_udp_datagrams_total";

double metric(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// Every "listening udp-echo on ADDR" of the server, in order.
std::vector<reactor::SocketAddress> udp_addresses(rt::Reactord& server) {
  std::vector<reactor::SocketAddress> out;
  for (const std::string& l : server.child().stderr_lines()) {
    const std::string tag = "listening udp-echo on ";
    size_t p = l.find(tag);
    if (p != std::string::npos) out.push_back(rt::parse_address(l.substr(p + tag.size())));
  }
  return out;
}

// A UDP socket bound to `from` that shares the port with whoever holds it (same user: the
// server's sockets set SO_REUSEADDR and SO_REUSEPORT too), so it can send with that source.
rt::Fd udp_bound_to(const reactor::SocketAddress& from, std::string* error) {
  rt::Fd fd(::socket(from.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd.get(), from.get(), from.len) != 0) {
    *error = "bind " + from.to_string() + ": " + strerror(errno);
    return rt::Fd();
  }
  return fd;
}

// Waits (bounded) until `key` reaches `want` in /metrics; returns the last scrape.
std::map<std::string, double> wait_metric(const reactor::SocketAddress& http,
                                          const std::string& key, double want) {
  std::map<std::string, double> m;
  rt::wait_until(
      [&] {
        m = scrape_metrics(http);
        return metric(m, key) >= want;
      },
      10000, 20);
  return m;
}

class UdpEchoLoops : public UdpEcho {
 protected:
  // Two udp-echo sockets (A, B) and an http listener for /metrics, one loop.
  bool start_two() {
    [&] {
      RT_START_REACTORD(server_, GetParam(),
                        {"--threads", "1", "--listen", "udp-echo=127.0.0.1:0", "--listen",
                         "udp-echo=127.0.0.1:0", "--listen", "http=127.0.0.1:0"});
    }();
    if (IsSkipped() || HasFatalFailure()) return false;
    udp_ = udp_addresses(server_);
    EXPECT_EQ(udp_.size(), 2u);
    return udp_.size() == 2;
  }
  std::vector<reactor::SocketAddress> udp_;
};

// One datagram sent to B from A's own address and port: B answering would send to A, A would
// echo back to B, and so on forever. It is counted, not answered: exactly one datagram ever
// reaches the server. A datagram from an ordinary port is still echoed.
TEST_P(UdpEchoLoops, DatagramFromASiblingPortIsNotAnswered) {
  if (!start_two()) return;
  const reactor::SocketAddress http = server_.address("http");
  std::string err;
  rt::Fd forged = udp_bound_to(udp_[0], &err);
  ASSERT_TRUE(forged) << err;
  ASSERT_EQ(::sendto(forged.get(), "loop?", 5, 0, udp_[1].get(), udp_[1].len), 5)
      << strerror(errno);
  std::map<std::string, double> m = wait_metric(http, kOwnPortKey, 1);
  EXPECT_EQ(metric(m, kOwnPortKey), 1) << "the forged datagram was not recognised";
  // Let a loop, if one had started, show itself: it would run at ~100,000s datagrams/s.
  rt::sleep_ms(300);
  m = scrape_metrics(http);
  EXPECT_EQ(metric(m, kDatagramsKey), 1) << "datagrams keep coming: an echo loop";
  EXPECT_EQ(metric(m, kOwnPortKey), 1);
  EXPECT_EQ(metric(m, kLowPortKey), 0);

  // An ordinary client is answered as before.
  check_sizes(udp_[1], {1, 1000});
  m = scrape_metrics(http);
  EXPECT_EQ(metric(m, kOwnPortKey), 1);
  EXPECT_TRUE(server_.child().running());
}

// A datagram from a well-known port (below 1024: echo 7, chargen 19, ...) is not answered: a
// forged one naming another host's echo service would otherwise start a loop between the two.
// Binding a low port needs root (or CAP_NET_BIND_SERVICE): skipped without.
TEST_P(UdpEchoLoops, DatagramFromAPortBelow1024IsNotAnswered) {
  if (!start_two()) return;
  const reactor::SocketAddress http = server_.address("http");
  rt::Fd low;
  std::string err;
  for (int port = 1023; port > 900 && !low; --port) {
    rt::Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    reactor::SocketAddress a = rt::loopback4(port);
    if (::bind(fd.get(), a.get(), a.len) == 0) {
      low = std::move(fd);
    } else if (errno == EACCES || errno == EPERM) {
      GTEST_SKIP() << "binding a port below 1024 needs CAP_NET_BIND_SERVICE";
    }
  }
  ASSERT_TRUE(low) << "no free port in 901..1023";
  ASSERT_EQ(::sendto(low.get(), "hi", 2, 0, udp_[1].get(), udp_[1].len), 2) << strerror(errno);
  std::map<std::string, double> m = wait_metric(http, kLowPortKey, 1);
  EXPECT_EQ(metric(m, kLowPortKey), 1);
  EXPECT_EQ(metric(m, kOwnPortKey), 0);
  EXPECT_EQ(metric(m, kDatagramsKey), 1);
  // Counted after the send would have happened: an answer would already be queued here.
  char buf[16];
  EXPECT_EQ(::recv(low.get(), buf, sizeof buf, MSG_DONTWAIT), -1) << "answered a low port";
  check_sizes(udp_[1], {1});
}

// Source port 0, and a socket's own port as the source of a datagram to itself, need a raw
// socket (a bound socket sharing the port could receive its own datagram): root only.
TEST_P(UdpEchoLoops, RawDatagramsFromPortZeroAndFromOwnPortAreNotAnswered) {
  rt::Fd raw(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!raw) GTEST_SKIP() << "raw sockets need CAP_NET_RAW: " << strerror(errno);
  if (!start_two()) return;
  const reactor::SocketAddress http = server_.address("http");
  // The kernel adds the IP header; we write the UDP header (checksum 0 = none, IPv4).
  auto send_from = [&](uint16_t source_port, const reactor::SocketAddress& to) {
    char packet[sizeof(udphdr) + 4];
    udphdr h{};
    h.source = htons(source_port);
    h.dest = htons(static_cast<uint16_t>(to.port()));
    h.len = htons(sizeof packet);
    h.check = 0;
    memcpy(packet, &h, sizeof h);
    memcpy(packet + sizeof h, "data", 4);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::sendto(raw.get(), packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&dst),
                    sizeof dst);
  };
  ASSERT_GT(send_from(0, udp_[1]), 0) << strerror(errno);
  std::map<std::string, double> m = wait_metric(http, kLowPortKey, 1);
  EXPECT_EQ(metric(m, kLowPortKey), 1);
  // From A to B, and from B to B itself (a socket answering itself).
  ASSERT_GT(send_from(static_cast<uint16_t>(udp_[0].port()), udp_[1]), 0) << strerror(errno);
  ASSERT_GT(send_from(static_cast<uint16_t>(udp_[1].port()), udp_[1]), 0) << strerror(errno);
  m = wait_metric(http, kOwnPortKey, 2);
  EXPECT_EQ(metric(m, kOwnPortKey), 2);
  rt::sleep_ms(300);
  m = scrape_metrics(http);
  EXPECT_EQ(metric(m, kDatagramsKey), 3) << "datagrams keep coming: an echo loop";
  EXPECT_EQ(metric(m, kLowPortKey), 1);
  EXPECT_EQ(metric(m, kOwnPortKey), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, UdpEchoLoops, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

// The policy alone: which sources count as this server's own, which as well-known ports.
TEST(UdpEchoPolicy, ClassifiesSources) {
  using V = reactord::UdpEchoPolicy::Verdict;
  auto addr = [](const char* text) { return rt::parse_address(text).storage; };
  reactord::UdpEchoPolicy p;
  p.add_own(rt::parse_address("127.0.0.1:7007"));  // bound to one address
  p.add_own(rt::parse_address("0.0.0.0:7008"));    // bound to all of them
  p.add_own(rt::parse_address("[::]:7009"));
  p.note_local_address(rt::parse_address("192.0.2.10:0"));  // an interface address
  // A specific bind: that address and port only.
  EXPECT_EQ(p.classify(addr("127.0.0.1:7007")), V::kOwnPort);
  EXPECT_EQ(p.classify(addr("127.0.0.2:7007")), V::kAnswer);
  EXPECT_EQ(p.classify(addr("192.0.2.10:7007")), V::kAnswer);
  // A wildcard bind: any local address with that port, loopback or interface, not a stranger.
  EXPECT_EQ(p.classify(addr("127.0.0.1:7008")), V::kOwnPort);
  EXPECT_EQ(p.classify(addr("127.5.6.7:7008")), V::kOwnPort);
  EXPECT_EQ(p.classify(addr("192.0.2.10:7008")), V::kOwnPort);
  EXPECT_EQ(p.classify(addr("198.51.100.1:7008")), V::kAnswer);
  EXPECT_EQ(p.classify(addr("[::1]:7009")), V::kOwnPort);
  EXPECT_EQ(p.classify(addr("[2001:db8::1]:7009")), V::kAnswer);
  // An IPv4-mapped source is its IPv4 address.
  EXPECT_EQ(p.classify(addr("[::ffff:127.0.0.1]:7007")), V::kOwnPort);
  // Well-known ports, port 0 included, from anywhere; 1024 and up are clients.
  for (const char* low : {"127.0.0.1:0", "198.51.100.1:7", "198.51.100.1:19", "[::1]:1023"})
    EXPECT_EQ(p.classify(addr(low)), V::kLowPort) << low;
  for (const char* ok : {"127.0.0.1:1024", "198.51.100.1:40000", "[::1]:7010"})
    EXPECT_EQ(p.classify(addr(ok)), V::kAnswer) << ok;
}

INSTANTIATE_TEST_SUITE_P(Backends, UdpEcho, testing::ValuesIn(rt::kAllBackends), rt::BackendName());

}  // namespace
