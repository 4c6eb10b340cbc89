// /live and /ready, --drain-grace and the agent-check responder against the binary, per
// backend: /ready turns 503 at SIGTERM while everything else is served as before through the
// grace; a keep-alive client sending back-to-back through grace and drain gets every response
// and an orderly end (never a reset). Timing-free: a second SIGTERM ends the grace.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <string>
#include <thread>

#include "tests/support/backends.h"
#include "tests/support/http_client.h"
#include "tests/support/net.h"
#include "tests/support/process.h"

namespace {

using reactor::BackendKind;

class DrainGrace : public testing::TestWithParam<BackendKind> {
 protected:
  bool start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--threads", "2", "--listen", "http=127.0.0.1:0",
                                     "--listen", "agent=127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    [&] { RT_START_REACTORD(server_, GetParam(), args); }();
    return !IsSkipped() && !HasFatalFailure();
  }
  ht::Response get(const std::string& path) {
    ht::Client c(server_.address("http"));
    EXPECT_TRUE(c.ok()) << c.error();
    ht::ReadResult r = c.roundtrip(ht::get(path));
    EXPECT_TRUE(r.ok) << path << ": " << r.error;
    return r.response;
  }
  std::string agent() {
    std::string error;
    rt::Fd fd = rt::connect_to(server_.address("agent"), 5000, &error);
    EXPECT_TRUE(fd) << error;
    rt::RecvResult r = rt::recv_until_eof(fd.get(), 5000);
    EXPECT_EQ(r.end, rt::RecvEnd::kEof);
    return r.data;
  }
  rt::Reactord server_;
};

TEST_P(DrainGrace, LiveAndReadyWhileServing) {
  if (!start()) return;
  ht::Response live = get("/live");
  EXPECT_EQ(live.code, 200);
  EXPECT_EQ(live.body, "ok\n");
  ht::Response ready = get("/ready");
  EXPECT_EQ(ready.code, 200);
  EXPECT_EQ(ready.body, "ready\n");
  EXPECT_EQ(agent(), "ready up 100%\n");
}

TEST_P(DrainGrace, NotReadyAtOnceButServingThroughTheGrace) {
  if (!start({"--drain-grace", "300"})) return;
  server_.child().signal(SIGTERM);
  ASSERT_TRUE(server_.child().wait_for_stderr("serving for the drain grace", 10000));
  ht::Response ready = get("/ready");
  EXPECT_EQ(ready.code, 503);
  EXPECT_EQ(ready.body, "draining\n");
  EXPECT_EQ(agent(), "drain\n");
  // Everything else as before: /health is 200, new connections are accepted and kept alive.
  ht::Response health = get("/health");
  EXPECT_EQ(health.code, 200);
  EXPECT_FALSE(health.says_close());
  EXPECT_EQ(get("/live").code, 200);
  server_.child().signal(SIGTERM);  // ends the grace: now the drain
  ASSERT_TRUE(server_.child().wait_for_stderr("draining (closing listeners", 10000));
  EXPECT_EQ(server_.child().wait_exit(20000), 0);
}

// The classic race: a client on one keep-alive connection sends its next request the moment
// the previous response arrives, through the grace and into the drain. Every request gets its
// response; the first one after the drain began says Connection: close and the connection then
// ends in an orderly EOF, never a reset.
TEST_P(DrainGrace, KeepAliveClientBackToBackGetsEveryResponse) {
  if (!start({"--drain-grace", "300"})) return;
  ht::Client c(server_.address("http"));
  ASSERT_TRUE(c.ok()) << c.error();
  c.set_nodelay();
  std::atomic<int> answered{0};
  std::atomic<bool> done{false};  // the client stopped (read `failure` only after the join)
  int sent = 0;
  bool closed_by_server = false;
  std::string failure;
  std::thread client([&] {
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = true; }
    } mark{done};
    while (sent < 1000000) {
      if (!c.send(ht::get("/plaintext"))) {
        failure = "send failed after " + std::to_string(sent) + " requests";
        return;
      }
      ++sent;
      ht::ReadResult r = c.read_response();
      if (!r.ok) {
        failure = "request " + std::to_string(sent) + " unanswered: " + r.error;
        return;
      }
      ++answered;
      if (r.response.code != 200) failure = "status " + std::to_string(r.response.code);
      if (r.response.says_close()) {
        closed_by_server = true;
        return;
      }
    }
  });
  auto wait_answers = [&](int more) {
    int target = answered.load() + more;
    return rt::wait_until([&] { return answered.load() >= target || done.load(); }, 20000);
  };
  ASSERT_TRUE(wait_answers(50));
  server_.child().signal(SIGTERM);
  ASSERT_TRUE(server_.child().wait_for_stderr("serving for the drain grace", 10000));
  EXPECT_TRUE(wait_answers(50)) << "keep-alive requests stalled during the grace";
  server_.child().signal(SIGTERM);
  client.join();
  EXPECT_EQ(failure, "");
  EXPECT_TRUE(closed_by_server);
  EXPECT_EQ(answered.load(), sent);
  ht::EofResult end = c.read_eof();
  EXPECT_TRUE(end.eof) << "reset=" << end.reset << " " << end.error;
  EXPECT_FALSE(end.reset);
  EXPECT_EQ(end.extra, "");
  EXPECT_EQ(server_.child().wait_exit(20000), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, DrainGrace, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
