// A protocol reactord does not know, registered by this test, served by reactord's own Server
// over real loopback sockets: the path a new protocol takes, TCP and UDP, on each backend.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "reactor/log.h"
#include "server/options.h"
#include "server/protocols/registry.h"
#include "server/protocols/udp_echo.h"
#include "server/server.h"
#include "tests/support/backends.h"
#include "tests/support/net.h"
#include "tests/support/process.h"

namespace {

using reactor::BackendKind;
using reactord::Protocol;
using reactord::ProtocolContext;

// rot13: byte-wise and stateless, so chunk boundaries never matter.
class Rot13Handler final : public reactor::ConnectionHandler {
 public:
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override {
    for (size_t i = 0; i < data.size(); ++i) data.data()[i] = rot13(data.data()[i]);
    c.send(std::move(data));
  }
  static char rot13(char ch) {
    if (ch >= 'a' && ch <= 'z') return static_cast<char>('a' + (ch - 'a' + 13) % 26);
    if (ch >= 'A' && ch <= 'Z') return static_cast<char>('A' + (ch - 'A' + 13) % 26);
    return ch;
  }
};

// Handlers and services made, counted across the loops' threads.
std::atomic<int> g_rot13_made{0};
std::atomic<int> g_dgram_made{0};

Protocol rot13_protocol() {
  return reactord::tcp_protocol("rot13", "", [](reactor::EventLoop&, const ProtocolContext&) {
    ++g_rot13_made;
    return std::make_unique<Rot13Handler>();
  });
}

// A UDP protocol built from the server's UDP echo service: registers like udp-echo does.
Protocol dgram_protocol() {
  Protocol p;
  p.name = "dgram";
  p.transport = reactord::Transport::kUdp;
  p.make_datagram_service = [](reactor::EventLoop& loop, int fd, const ProtocolContext& ctx) {
    ++g_dgram_made;
    return std::make_unique<reactord::UdpEchoService>(loop, fd, ctx.udp, *ctx.udp.add_stats());
  };
  return p;
}

// The server's log lines, through the embedder's sink (no stderr parsing).
class LogCapture {
 public:
  LogCapture() { reactor::set_log_sink(&LogCapture::sink, this); }
  ~LogCapture() { reactor::set_log_sink(nullptr, nullptr); }
  bool has_line(const std::string& line) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_) {
      if (l == line) return true;
    }
    return false;
  }
  // The address in "listening PROTO on ADDR".
  reactor::SocketAddress address(const std::string& proto) const {
    const std::string tag = "listening " + proto + " on ";
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_) {
      if (l.starts_with(tag)) return rt::parse_address(l.substr(tag.size()));
    }
    return {};
  }
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const auto& l : lines_) all += l + "\n";
    return all;
  }

 private:
  static void sink(reactor::LogLevel, std::string_view message, void* self) {
    auto* c = static_cast<LogCapture*>(self);
    std::lock_guard<std::mutex> lock(c->mu_);
    c->lines_.emplace_back(message);
  }
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

class ProtocolPlugin : public testing::TestWithParam<BackendKind> {};

TEST_P(ProtocolPlugin, ServesARegisteredProtocolThroughTheServer) {
  if (GetParam() == BackendKind::kIoUring && !reactor::io_uring_compiled_in())
    GTEST_SKIP() << "io_uring backend not compiled in";
  reactord::ProtocolRegistry protocols = reactord::builtin_protocols();
  protocols.add(rot13_protocol());
  protocols.add(dgram_protocol());

  // The same steps as reactord's main: options from the command line, then the Server.
  reactord::ConfigSource source;
  source.args = {"--no-config",
                 "--threads",
                 "2",
                 "--backend",
                 reactor::backend_kind_name(GetParam()),
                 "--listen",
                 "rot13=127.0.0.1:0",
                 "--listen",
                 "dgram=127.0.0.1:0"};
  source.protocols = protocols;
  reactord::Options options;
  reactord::ParseResult parsed = reactord::load_options(source, &options);
  ASSERT_EQ(parsed.action, reactord::ParseResult::kRun) << parsed.message;

  g_rot13_made = 0;
  g_dgram_made = 0;
  LogCapture log;
  reactord::Server server(std::move(options), source, {});
  std::atomic<bool> finished{false};
  int exit_code = -1;
  std::thread runner([&] {
    exit_code = server.run();
    finished = true;
  });
  // run() blocks SIGTERM in its thread before it logs "ready": from then on a SIGTERM sent
  // to that thread waits for its sigwait and starts the drain.
  bool ready = rt::wait_until([&] { return log.has_line("ready") || finished.load(); }, 30000);
  if (finished.load() || !ready) {
    runner.join();
    if (GetParam() == BackendKind::kIoUring && rt::says_io_uring_unavailable(log.text()))
      GTEST_SKIP() << log.text();
    FAIL() << "the server did not start (exit " << exit_code << "):\n" << log.text();
  }

  EXPECT_EQ(g_rot13_made.load(), 2) << "one handler per loop";
  EXPECT_EQ(g_dgram_made.load(), 2) << "one datagram service per loop";

  std::string err;
  rt::Fd tcp = rt::connect_to(log.address("rot13"), 10000, &err);
  ASSERT_TRUE(tcp) << err;
  const std::string request = "Hello, World! 0123 zZ";
  rt::ExchangeResult x = rt::exchange(tcp.get(), request, request.size(), 10000);
  EXPECT_TRUE(x.ok) << x.error;
  EXPECT_EQ(x.received, "Uryyb, Jbeyq! 0123 mM");

  const reactor::SocketAddress dgram_addr = log.address("dgram");
  rt::Fd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(udp) << strerror(errno);
  ASSERT_EQ(::connect(udp.get(), dgram_addr.get(), dgram_addr.len), 0) << strerror(errno);
  timeval tv{10, 0};
  setsockopt(udp.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string datagram = "one datagram";
  ASSERT_EQ(::send(udp.get(), datagram.data(), datagram.size(), 0),
            static_cast<ssize_t>(datagram.size()));
  char back[64] = {};
  ssize_t n = ::recv(udp.get(), back, sizeof back, 0);
  ASSERT_GT(n, 0) << strerror(errno);
  EXPECT_EQ(std::string(back, static_cast<size_t>(n)), datagram);

  tcp.reset();
  ASSERT_EQ(pthread_kill(runner.native_handle(), SIGTERM), 0);
  runner.join();
  EXPECT_EQ(exit_code, 0) << log.text();
  EXPECT_TRUE(log.has_line("stopped")) << log.text();
}

INSTANTIATE_TEST_SUITE_P(Backends, ProtocolPlugin, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
