// --proxy-from against the binary, per backend: echo, upper and http served after v1 and v2
// headers (data after the header kept), headers split over reads, bad headers and missing ones
// closed unanswered, untrusted sources served as they are (a header is just their bytes),
// --allow/--deny on the header's source, --header-timeout, LOCAL, and the /metrics counts.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cctype>
#include <string>
#include <vector>

#include "tests/server/proxy/proxy_headers.h"
#include "tests/support/backends.h"
#include "tests/support/http_client.h"
#include "tests/support/net.h"
#include "tests/support/process.h"

namespace {

using reactor::BackendKind;

// The balancer's address in these tests: only connections from it must carry a header, so
// the tests' own plain connections (and /metrics scrapes) come from 127.0.0.1.
constexpr const char* kBalancer = "127.0.0.2";

const std::string kV1 = "PROXY TCP4 198.51.100.5 203.0.113.1 40000 80\r\n";
std::string v2_from(const char* src) { return rt::proxy_v2_tcp4(src, 40001, "203.0.113.1", 80, ""); }

// A connection from `source` (bound before connecting) to `to`; blocking connect, then
// non-blocking for the rt:: helpers.
rt::Fd connect_from(const char* source, const reactor::SocketAddress& to) {
  rt::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd.get(), to.get(), to.len) != 0)
    return rt::Fd();
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  return fd;
}

class ProxyGateTest : public testing::TestWithParam<BackendKind> {
 protected:
  bool start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--threads",        "2",
                                     "--listen",         "echo=127.0.0.1:0",
                                     "--listen",         "upper=127.0.0.1:0",
                                     "--listen",         "http=127.0.0.1:0",
                                     "--proxy-from",     std::string(kBalancer) + "/32",
                                     "--log-level",      "debug"};
    args.insert(args.end(), extra.begin(), extra.end());
    [&] { RT_START_REACTORD(server_, GetParam(), args); }();
    return !IsSkipped() && !HasFatalFailure();
  }
  // Sends `bytes` from `source` to `proto` and reads until `expect` bytes or EOF.
  rt::RecvResult talk(const char* source, const std::string& proto, const std::string& bytes,
                      size_t expect) {
    rt::Fd fd = connect_from(source, server_.address(proto));
    EXPECT_TRUE(fd) << "connect from " << source;
    std::string error;
    EXPECT_TRUE(rt::send_all(fd.get(), bytes, 5000, &error)) << error;
    return expect == 0 ? rt::recv_until_eof(fd.get(), 5000) : rt::recv_exact(fd.get(), expect, 5000);
  }
  double headers(const std::string& result) {
    return ht::value(ht::scrape(server_.address("http")),
                     "reactord_proxy_headers_total{result=\"" + result + "\"}");
  }
  // Closed without a byte of output (EOF or reset).
  void expect_refused(const rt::RecvResult& r, const std::string& what) {
    EXPECT_EQ(r.data, "") << what;
    EXPECT_TRUE(r.end == rt::RecvEnd::kEof || r.end == rt::RecvEnd::kReset) << what << ": " << rt::recv_end_name(r.end);
  }
  rt::Reactord server_;
};

TEST_P(ProxyGateTest, EachProtocolServedAfterV1AndV2WithTheBytesThatFollowed) {
  if (!start()) return;
  for (const std::string& header : {kV1, v2_from("198.51.100.5")}) {
    EXPECT_EQ(talk(kBalancer, "echo", header + "ping", 4).data, "ping");
    EXPECT_EQ(talk(kBalancer, "upper", header + "shout", 5).data, "SHOUT");
    rt::RecvResult http = talk(kBalancer, "http", header + ht::get("/health", "Connection: close\r\n"), 0);
    EXPECT_EQ(http.data.substr(0, 15), "HTTP/1.1 200 OK") << ht::printable(http.data);
  }
  EXPECT_EQ(headers("accepted"), 6);
  EXPECT_EQ(headers("rejected"), 0);
}

TEST_P(ProxyGateTest, HeaderSplitOverManyReads) {
  if (!start()) return;
  for (const std::string& header :
       {kV1, rt::proxy_v2_tcp4("198.51.100.5", 1, "203.0.113.1", 2, rt::proxy_v2_tlv(1, "h2"))}) {
    rt::Fd fd = connect_from(kBalancer, server_.address("upper"));
    ASSERT_TRUE(fd);
    std::string error;
    for (char ch : header) {
      ASSERT_TRUE(rt::send_all(fd.get(), std::string(1, ch), 5000, &error)) << error;
      rt::sleep_ms(2);  // each byte its own segment, so the server reads the header piecemeal
    }
    ASSERT_TRUE(rt::send_all(fd.get(), "abc", 5000, &error)) << error;
    EXPECT_EQ(rt::recv_exact(fd.get(), 3, 5000).data, "ABC");
  }
  EXPECT_EQ(headers("accepted"), 2);
}

TEST_P(ProxyGateTest, BadOrMissingHeadersCloseUnanswered) {
  if (!start()) return;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"echo", "hello\r\n"},                                            // no header at all
      {"http", ht::get("/health")},                                       // a request, no header
      {"echo", "PROXY TCP4 198.51.100.5 203.0.113.1 40000 80\n"},       // LF without CR
      {"upper", "PROXY TCP4 198.51.100.5 203.0.113.1 70000 80\r\nx"},   // port out of range
      {"echo", "PROXY UNKNOWN " + std::string(100, 'x') + "\r\n"},      // v1 too long
      {"http", rt::proxy_v2_raw(0x11, 0x11, std::string(12, '\1'))},    // v2 version 1
      {"echo", rt::proxy_v2_raw(0x21, 0x11, std::string(12, '\1') + "\1\0\x09")},  // TLV past end
  };
  for (const auto& [proto, bytes] : cases)
    expect_refused(talk(kBalancer, proto, bytes, 0), proto + ": " + ht::printable(bytes));
  EXPECT_EQ(headers("rejected"), static_cast<double>(cases.size()));
  EXPECT_EQ(headers("accepted"), 0);
}

TEST_P(ProxyGateTest, UntrustedSourcesAreServedAsTheyAre) {
  if (!start()) return;
  // From 127.0.0.1, which is not in --proxy-from: a header is only data to the protocol.
  std::string v2 = v2_from("198.51.100.5");
  EXPECT_EQ(talk("127.0.0.1", "echo", kV1 + "x", kV1.size() + 1).data, kV1 + "x");
  EXPECT_EQ(talk("127.0.0.1", "echo", v2, v2.size()).data, v2);
  EXPECT_EQ(talk("127.0.0.1", "echo", "plain", 5).data, "plain");
  rt::RecvResult http = talk("127.0.0.1", "http", kV1 + ht::get("/health"), 0);
  EXPECT_EQ(http.data.substr(0, 12), "HTTP/1.1 400") << ht::printable(http.data);
  EXPECT_EQ(headers("accepted") + headers("rejected") + headers("local"), 0);
}

TEST_P(ProxyGateTest, AllowAndDenyActOnTheHeadersSource) {
  // The balancer's own address is not allowed: only the clients it carries are judged.
  if (!start({"--allow", "198.51.100.0/24", "--allow", "127.0.0.1/32", "--deny",
              "198.51.100.66/32"}))
    return;
  EXPECT_EQ(talk(kBalancer, "echo", v2_from("198.51.100.5") + "in", 2).data, "in");
  EXPECT_EQ(talk(kBalancer, "echo", kV1 + "v1", 2).data, "v1");
  expect_refused(talk(kBalancer, "echo", v2_from("198.51.100.66") + "x", 0), "denied source");
  expect_refused(talk(kBalancer, "echo", v2_from("203.0.113.9") + "x", 0), "not allowed");
  // LOCAL: the balancer itself is the client, and it is not allowed.
  expect_refused(talk(kBalancer, "echo", rt::proxy_v2_raw(0x20, 0, "") + "x", 0), "LOCAL");
  ht::Metrics m = ht::scrape(server_.address("http"));
  EXPECT_EQ(ht::sum_family(m, "reactord_denied_connections_total"), 3);
  EXPECT_EQ(ht::value(m, "reactord_proxy_headers_total{result=\"accepted\"}"), 4);
  EXPECT_EQ(ht::value(m, "reactord_proxy_headers_total{result=\"local\"}"), 1);
}

TEST_P(ProxyGateTest, IncompleteHeaderTimesOut) {
  if (!start({"--header-timeout", "0.3"})) return;
  std::string v2 = v2_from("198.51.100.5");
  expect_refused(talk(kBalancer, "echo", v2.substr(0, 20), 0), "half a v2 header");
  expect_refused(talk(kBalancer, "http", "PROXY TCP4 198.5", 0), "half a v1 line");
  EXPECT_EQ(headers("rejected"), 2);
}

TEST_P(ProxyGateTest, LocalIsServedAsThePeer) {
  if (!start()) return;
  EXPECT_EQ(talk(kBalancer, "echo", rt::proxy_v2_raw(0x20, 0, "") + "check", 5).data, "check");
  EXPECT_EQ(headers("local"), 1);
  EXPECT_EQ(headers("accepted"), 0);
}

// IPv6 all the way: the balancer is ::1 (--proxy-from ::1/128), the clients it names are
// IPv6 too, and --allow judges them, not ::1.
TEST_P(ProxyGateTest, Ipv6BalancerAndClients) {
  rt::Reactord server;
  [&] {
    RT_START_REACTORD(server, GetParam(),
                      {"--threads", "1", "--listen", "echo=[::1]:0", "--proxy-from", "::1/128",
                       "--allow", "2001:db8:1::/48"});
  }();
  if (IsSkipped() || HasFatalFailure()) return;
  auto talk6 = [&](const std::string& bytes, size_t expect) {
    std::string error;
    rt::Fd fd = rt::connect_to(server.address("echo"), 5000, &error);
    EXPECT_TRUE(fd) << error;
    EXPECT_TRUE(rt::send_all(fd.get(), bytes, 5000, &error)) << error;
    return expect == 0 ? rt::recv_until_eof(fd.get(), 5000) : rt::recv_exact(fd.get(), expect, 5000);
  };
  EXPECT_EQ(talk6("PROXY TCP6 2001:db8:1::5 2001:db8::1 40000 7\r\nsix", 3).data, "six");
  EXPECT_EQ(talk6(rt::proxy_v2_tcp6("2001:db8:1::6", 1, "2001:db8::1", 7, "") + "v2", 2).data, "v2");
  expect_refused(talk6(rt::proxy_v2_tcp6("2001:db8:2::6", 1, "2001:db8::1", 7, "") + "x", 0),
                 "a client outside --allow");
  expect_refused(talk6("no header", 0), "no header from the balancer");
}

INSTANTIATE_TEST_SUITE_P(Backends, ProxyGateTest, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
