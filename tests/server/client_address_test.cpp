// client_address(): the socket's peer by default, the recorded PROXY source once set, and never
// a stale entry for a later connection reusing the slot. Per backend, over loopback.
#include "server/client_address.h"

#include <gtest/gtest.h>

#include "reactor/backend_kind.h"

#include <string>

#include "reactor/connection.h"
#include "server/proxy/proxy_gate.h"
#include "tests/support/backends.h"
#include "tests/support/inprocess_server.h"
#include "tests/support/net.h"

namespace {

using reactor::BackendKind;

// Answers each connection's first bytes with its client address; a connection whose first
// bytes are "set" records 192.0.2.7:4321 (as the PROXY gate would) before answering.
class AddressHandler final : public reactor::ConnectionHandler {
 public:
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override {
    if (std::string(data.data(), data.size()) == "set") {
      reactor::SocketAddress a;
      std::string error;
      reactor::SocketAddress::parse("192.0.2.7:4321", &a, &error);
      reactord::set_client_address(c, a);
    }
    std::string text = reactord::client_address(c).to_string() + "\n";
    c.send(text);
  }
};

class ClientAddress : public testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    if (GetParam() == BackendKind::kIoUring && !reactor::io_uring_compiled_in())
      GTEST_SKIP() << "built without liburing";
  }
  std::string ask(const std::string& what) {
    std::string error;
    rt::Fd fd = rt::connect_to(server_.address("echo"), 5000, &error);
    EXPECT_TRUE(fd) << error;
    EXPECT_TRUE(rt::send_all(fd.get(), what, 5000, &error)) << error;
    std::string line;
    uint64_t deadline = rt::now_ms() + 5000;
    while (line.find('\n') == std::string::npos && rt::now_ms() < deadline) {
      rt::RecvResult got = rt::recv_exact(fd.get(), 1, 5000);
      if (got.end != rt::RecvEnd::kCount) break;
      line += got.data;
    }
    local_port_ = local_port(fd.get());
    return line;
  }
  static int local_port(int fd) {
    reactor::SocketAddress a;
    a.len = sizeof a.storage;
    getsockname(fd, a.get(), &a.len);
    return a.port();
  }
  // gated: every connection (all come from loopback) must begin with a PROXY header.
  void start(bool gated = false) {
    rt::InProcessServer::Config config;
    config.backend = GetParam();
    config.threads = 1;  // one loop: the second connection reuses the first one's slot
    config.protocols = {"echo"};
    if (gated) {
      std::string error;
      reactor::AccessList::Rule loopback;
      reactor::AccessList::parse_cidr("127.0.0.0/8", &loopback, &error);
      trusted_.allow(loopback);
      config.loop.proxy_sources = &trusted_;
      config.make_handler = [this](const std::string&) {
        return std::make_unique<reactord::ProxyGate>(
            &address_handler_, reactord::ProxyGateConfig{&trusted_, nullptr, 0, &stats_});
      };
    } else {
      config.make_handler = [](const std::string&) { return std::make_unique<AddressHandler>(); };
    }
    RT_START_INPROCESS(server_, config);
  }
  reactor::AccessList trusted_;
  reactord::ProxyStats stats_;
  AddressHandler address_handler_;  // stateless: shared by the gates
  rt::InProcessServer server_;
  int local_port_ = 0;
};

TEST_P(ClientAddress, PeerWhenNothingRecorded) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string line = ask("x");
  EXPECT_EQ(line, "127.0.0.1:" + std::to_string(local_port_) + "\n");
}

TEST_P(ClientAddress, RecordedSourceThenPeerForTheSlotsNextConnection) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(ask("set"), "192.0.2.7:4321\n");
  ASSERT_TRUE(rt::wait_until([&] { return server_.sum(&reactor::LoopStats::active) == 0; }, 5000));
  std::string line = ask("x");
  EXPECT_EQ(line, "127.0.0.1:" + std::to_string(local_port_) + "\n");
}

TEST_P(ClientAddress, HeadersSourceOnceTheGateReadIt) {
  ASSERT_NO_FATAL_FAILURE(start(/*gated=*/true));
  EXPECT_EQ(ask("PROXY TCP6 2001:db8::5 2001:db8::1 40000 80\r\nx"), "[2001:db8::5]:40000\n");
  std::string unknown = ask("PROXY UNKNOWN\r\nx");
  EXPECT_EQ(unknown, "127.0.0.1:" + std::to_string(local_port_) + "\n");
  EXPECT_EQ(stats_.accepted.load(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ClientAddress, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
