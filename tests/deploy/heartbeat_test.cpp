// The watchdog's loop heartbeat, in process: every loop answers while it turns; a loop stuck
// in a task stops answering (so reactord withholds WATCHDOG=1) and answers again once freed.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "reactor/loop_group.h"
#include "server/heartbeat.h"

namespace reactord {
namespace {

using std::chrono::milliseconds;

// Polls `late()` until it equals `want` or 20 s pass.
bool wait_late(const LoopHeartbeat& hb, const std::vector<int>& want) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (hb.late() != want) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

TEST(LoopHeartbeat, StuckLoopStopsAnsweringUntilFreed) {
  reactor::LoopGroup group;
  reactor::LoopGroup::Options opts;
  opts.threads = 2;
  opts.loop.backend = reactor::BackendKind::kEpoll;
  std::string error;
  ASSERT_TRUE(group.start(
      opts, [](reactor::EventLoop&, int) {}, &error))
      << error;

  LoopHeartbeat hb(group);
  EXPECT_EQ(hb.late(), std::vector<int>{}) << "nothing sent yet: nobody is late";
  hb.send();
  ASSERT_TRUE(wait_late(hb, {})) << "both loops answer";

  // Loop 1 runs a task that blocks: it cannot run the next heartbeat.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  group.loop(1).post([released, &entered](reactor::EventLoop&) {
    entered.set_value();
    released.wait();
  });
  entered.get_future().wait();
  hb.send();
  ASSERT_TRUE(wait_late(hb, {1})) << "loop 0 answers, loop 1 does not";
  // Still stuck a moment later: the answer cannot come from anywhere else.
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(hb.late(), std::vector<int>{1});

  release.set_value();
  ASSERT_TRUE(wait_late(hb, {})) << "freed, loop 1 runs the pending heartbeat";
  hb.send();
  EXPECT_TRUE(wait_late(hb, {}));

  group.stop();
  group.join();
}

}  // namespace
}  // namespace reactord
