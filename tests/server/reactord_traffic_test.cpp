// Real loopback traffic against the built reactord binary, once per backend: byte-exact echo
// and upper, 2,000 concurrent connections, 64 MiB through one connection, half-close, resets
// mid-transfer, --max-conns, unix sockets.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>
#include <vector>

#include "tests/support/backends.h"
#include "tests/support/net.h"
#include "tests/support/payload.h"
#include "tests/support/process.h"
#include "tests/support/reset_storm.h"

namespace {

using reactor::BackendKind;

constexpr size_t kSizes[] = {1,     2,     3,     100,   1000,  4095,    4096,    4097,
                             16383, 16384, 16385, 65535, 65536, 100'000, 262'144, 1 << 20};

class Traffic : public testing::TestWithParam<BackendKind> {
 protected:
  std::vector<std::string> default_args() {
    return {"--threads", "2", "--listen", "echo=127.0.0.1:0", "--listen", "upper=127.0.0.1:0"};
  }
  rt::Reactord server_;
};

std::string expected_for(const std::string& proto, const std::string& payload) {
  return proto == "upper" ? rt::upper_expected(payload) : payload;
}

TEST_P(Traffic, EchoAndUpperByteExactAcrossSizes) {
  RT_START_REACTORD(server_, GetParam(), default_args());
  for (std::string proto : {"echo", "upper"}) {
    for (size_t size : kSizes) {
      SCOPED_TRACE(proto + " size " + std::to_string(size));
      std::string payload = rt::random_bytes(size, size * 17 + 3);
      std::string expect = expected_for(proto, payload);
      std::string err;
      rt::Fd fd = rt::connect_to(server_.address(proto), 10000, &err);
      ASSERT_TRUE(fd) << err;
      rt::ExchangeResult r = rt::exchange(fd.get(), payload, expect.size(), 30000);
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_TRUE(r.received == expect) << "reply differs";
    }
  }
  EXPECT_TRUE(server_.child().running());
}

TEST_P(Traffic, UpperChangesOnlyAsciiLowercase) {
  RT_START_REACTORD(server_, GetParam(), default_args());
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string expect = all;
  for (char& c : expect)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("upper"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::ExchangeResult r = rt::exchange(fd.get(), all, all.size(), 10000);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.received, expect);
}

TEST_P(Traffic, TwoThousandConcurrentConnections) {
  RT_START_REACTORD(server_, GetParam(), default_args());
  constexpr int kConns = 2000;
  const int listeners = rt::socket_fd_count(server_.pid());
  ASSERT_GT(listeners, 0);
  rt::ConnectionSwarm swarm;
  std::string err;
  ASSERT_TRUE(swarm.run(
      server_.address("upper"), kConns,
      [](size_t i) { return "msg-" + std::to_string(i) + "-" + rt::random_bytes(i % 300, i); },
      rt::Transform::kUpper, 60000, &err))
      << err;
  EXPECT_EQ(swarm.completed(), static_cast<size_t>(kConns));
  // All answered and still open: the server holds exactly one socket per connection.
  EXPECT_EQ(rt::socket_fd_count(server_.pid()), listeners + kConns);
  swarm.close_all();
  EXPECT_TRUE(
      rt::wait_until([&] { return rt::socket_fd_count(server_.pid()) == listeners; }, 30000))
      << rt::socket_fd_count(server_.pid()) - listeners << " connections still open";
  EXPECT_TRUE(server_.child().running());
}

TEST_P(Traffic, SixtyFourMiBThroughOneConnection) {
  RT_START_REACTORD(server_, GetParam(), default_args());
  constexpr uint64_t kTotal = 64ull << 20;
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  rt::StreamPump pump(fd.get(), kTotal, 4242, rt::Transform::kIdentity);
  ASSERT_TRUE(pump.run(120000)) << pump.error();
  EXPECT_EQ(pump.received(), kTotal);
  EXPECT_EQ(pump.first_mismatch(), -1);
  EXPECT_EQ(pump.received_checksum(), pump.expected_checksum());
  EXPECT_EQ(pump.received_checksum(),
            rt::pattern_checksum(rt::PatternStream(4242), kTotal, rt::Transform::kIdentity));
  ASSERT_TRUE(pump.finish_with_eof(10000)) << pump.error();
}

TEST_P(Traffic, HalfCloseDeliversEverythingThenEof) {
  RT_START_REACTORD(server_, GetParam(), default_args());
  for (std::string proto : {"echo", "upper"}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{65536}, size_t{1} << 20}) {
      SCOPED_TRACE(proto + " size " + std::to_string(size));
      std::string payload = rt::random_bytes(size, size + 99);
      std::string expect = expected_for(proto, payload);
      std::string err;
      rt::Fd fd = rt::connect_to(server_.address(proto), 10000, &err);
      ASSERT_TRUE(fd) << err;
      rt::ExchangeResult r = rt::exchange(fd.get(), payload, expect.size(), 30000,
                                          /*shut_wr=*/true, /*want_eof=*/true);
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_TRUE(r.eof);
      EXPECT_TRUE(r.received == expect);
    }
  }
}

TEST_P(Traffic, ResettingClientsDoNotDisturbOthers) {
  RT_START_REACTORD(server_, GetParam(), default_args());
  const int listeners = rt::socket_fd_count(server_.pid());
  rt::ResetStorm storm;
  storm.seed = 500;
  for (const std::string& failure :
       rt::run_reset_storm(storm, [&](const std::string& p) { return server_.address(p); }))
    ADD_FAILURE() << failure;
  std::string err;
  rt::Fd fd = rt::connect_to(server_.address("echo"), 10000, &err);
  ASSERT_TRUE(fd) << err;
  std::string payload = rt::random_bytes(200'000, 2);
  rt::ExchangeResult r = rt::exchange(fd.get(), payload, payload.size(), 30000, true, true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.received == payload);
  fd.reset();
  // No connection is left behind on the server.
  EXPECT_TRUE(
      rt::wait_until([&] { return rt::socket_fd_count(server_.pid()) == listeners; }, 20000))
      << rt::socket_fd_count(server_.pid()) - listeners << " connections still open";
  EXPECT_TRUE(server_.child().running());
}

TEST_P(Traffic, MaxConnsRefusesTheEleventh) {
  RT_START_REACTORD(server_, GetParam(),
                    {"--threads", "2", "--max-conns", "10", "--listen", "echo=127.0.0.1:0"});
  const auto addr = server_.address("echo");
  std::vector<rt::Fd> held;
  for (int i = 0; i < 10; ++i) {
    std::string err;
    rt::Fd fd = rt::connect_to(addr, 10000, &err);
    ASSERT_TRUE(fd) << err;
    std::string msg = "held-" + std::to_string(i);
    rt::ExchangeResult r = rt::exchange(fd.get(), msg, msg.size(), 10000);
    ASSERT_TRUE(r.ok) << "connection " << i << ": " << r.error;
    EXPECT_EQ(r.received, msg);
    held.push_back(std::move(fd));
  }
  // The 11th is accepted by the kernel, then closed by the server at once: no echo.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string err;
    rt::Fd fd = rt::connect_to(addr, 10000, &err);
    ASSERT_TRUE(fd) << err;
    ::send(fd.get(), "x", 1, MSG_NOSIGNAL);
    rt::RecvResult r = rt::recv_until_eof(fd.get(), 10000);
    EXPECT_TRUE(r.end == rt::RecvEnd::kEof || r.end == rt::RecvEnd::kReset)
        << rt::recv_end_name(r.end);
    EXPECT_TRUE(r.data.empty()) << "over-limit connection was served";
  }
  // The ten are unaffected.
  for (size_t i = 0; i < held.size(); ++i) {
    rt::ExchangeResult r = rt::exchange(held[i].get(), "again", 5, 10000);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.received, "again");
  }
  // Once one closes, a new connection is served (retry while the server notices the close).
  ::shutdown(held[0].get(), SHUT_WR);
  EXPECT_EQ(rt::recv_until_eof(held[0].get(), 10000).end, rt::RecvEnd::kEof);
  held[0].reset();
  rt::Fd newcomer;
  bool served = rt::wait_until(
      [&] {
        std::string err;
        rt::Fd fd = rt::connect_to(addr, 5000, &err);
        if (!fd) return false;
        rt::ExchangeResult r = rt::exchange(fd.get(), "newcomer", 8, 2000);
        if (!r.ok || r.received != "newcomer") return false;
        newcomer = std::move(fd);  // stays open: the server is at its limit again
        return true;
      },
      15000, 50);
  EXPECT_TRUE(served) << "no connection was served after one of the ten closed";
  // Back at the limit (nine held + the newcomer): the next one is refused.
  std::string err;
  rt::Fd extra = rt::connect_to(addr, 10000, &err);
  ASSERT_TRUE(extra) << err;
  ::send(extra.get(), "y", 1, MSG_NOSIGNAL);
  rt::RecvResult r = rt::recv_until_eof(extra.get(), 10000);
  EXPECT_TRUE(r.data.empty());
}

TEST_P(Traffic, UnixSocketEchoByteExact) {
  rt::TempDir dir;
  std::string path = dir.file("s.sock");
  RT_START_REACTORD(
      server_, GetParam(),
      {"--listen", "echo=unix:" + path, "--listen", "upper=unix:" + dir.file("u.sock")});
  EXPECT_EQ(server_.address("echo").to_string(), "unix:" + path);
  for (std::string proto : {"echo", "upper"}) {
    for (size_t size : {size_t{1}, size_t{16385}, size_t{1} << 20}) {
      SCOPED_TRACE(proto + " size " + std::to_string(size));
      std::string payload = rt::random_bytes(size, size);
      std::string expect = expected_for(proto, payload);
      std::string err;
      rt::Fd fd = rt::connect_to(server_.address(proto), 10000, &err);
      ASSERT_TRUE(fd) << err;
      rt::ExchangeResult r = rt::exchange(fd.get(), payload, expect.size(), 30000, true, true);
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_TRUE(r.received == expect);
    }
  }
  // A clean shutdown removes the socket files.
  auto st = server_.terminate(30000);
  ASSERT_TRUE(st.has_value()) << "no exit after SIGTERM";
  EXPECT_EQ(rt::describe_status(*st), "exit 0");
  struct stat sb;
  EXPECT_NE(lstat(path.c_str(), &sb), 0) << path << " left behind";
}

INSTANTIATE_TEST_SUITE_P(Backends, Traffic, testing::ValuesIn(rt::kAllBackends), rt::BackendName());

}  // namespace
