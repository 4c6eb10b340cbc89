// Write-queue watermarks crossing up and down, on an in-process echo server over loopback.
//
// The client sends without reading until the server pauses reading (LoopStats::
// backpressure_pauses goes up by one), then reads everything back without sending. Socket
// buffers on both sides are pinned small (SO_RCVBUF/SO_SNDBUF; accepted sockets inherit the
// listener's), so after the resume at most ~256 KiB is still in flight towards the server:
// the queue can refill to low_water + 256 KiB < high_water, never crossing twice in a round.
// Hence exactly one upward crossing per round, and the counter must equal the round count.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "reactor/event_loop.h"
#include "tests/support/backends.h"
#include "tests/support/inprocess_server.h"
#include "tests/support/net.h"

namespace {

using reactor::BackendKind;
using reactor::LoopStats;

class Watermarks : public testing::TestWithParam<BackendKind> {};

TEST_P(Watermarks, PauseOncePerUpwardCrossingAndResume) {
  constexpr uint64_t kHigh = 512 << 10, kLow = 128 << 10;
  constexpr int kBuf = 64 << 10;  // the kernel doubles it
  constexpr int kRounds = 5;
  rt::InProcessServer server;
  rt::InProcessServer::Config cfg;
  cfg.backend = GetParam();
  cfg.threads = 1;
  cfg.protocols = {"echo"};
  cfg.loop.high_water = kHigh;
  cfg.loop.low_water = kLow;
  cfg.tune_listener = [](int fd) {
    int v = kBuf;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  };
  RT_START_INPROCESS(server, cfg);

  std::string err;
  rt::Fd fd = rt::connect_to(server.address("echo"), 10000, &err, kBuf, kBuf);
  ASSERT_TRUE(fd) << err;
  rt::StreamPump pump(fd.get(), 1ull << 32, 77, rt::Transform::kIdentity);
  EXPECT_EQ(server.sum(&LoopStats::backpressure_pauses), 0u);
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Up: send without reading until the server pauses.
    ASSERT_TRUE(pump.run(30000, true, false, [&] {
      return server.sum(&LoopStats::backpressure_pauses) >= static_cast<uint64_t>(round);
    })) << pump.error();
    EXPECT_EQ(server.sum(&LoopStats::backpressure_pauses), static_cast<uint64_t>(round));
    EXPECT_GT(pump.sent(), kHigh);  // the queue cannot pass high water with less sent
    // Down: read everything back without sending; the server resumes and echoes the rest.
    ASSERT_TRUE(pump.run(30000, false, true, [&] { return pump.received() == pump.sent(); }))
        << pump.error();
    EXPECT_EQ(server.sum(&LoopStats::backpressure_pauses), static_cast<uint64_t>(round))
        << "more than one upward crossing in this round";
  }
  EXPECT_EQ(server.sum(&LoopStats::backpressure_pauses), static_cast<uint64_t>(kRounds));
  EXPECT_EQ(pump.received(), pump.sent());
  EXPECT_EQ(pump.first_mismatch(), -1);
  EXPECT_EQ(pump.received_checksum(), pump.expected_checksum());
  // The queue is empty again: nothing left counted anywhere.
  EXPECT_TRUE(
      rt::wait_until([&] { return server.sum(&LoopStats::write_queue_bytes) == 0; }, 10000));
}

INSTANTIATE_TEST_SUITE_P(Backends, Watermarks, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
