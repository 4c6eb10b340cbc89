// TimerWheel arithmetic at the edges of uint64: a delay that would wrap the tick rounding or the
// deadline must arm a timer that (in effect) never fires, not one that fires on the next tick.
#include <gtest/gtest.h>

#include <cstdint>

#include "reactor/timer_wheel.h"

namespace {

using reactor::TimerNode;
using reactor::TimerWheel;

struct CountingNode : TimerNode {
  CountingNode() : TimerNode(&CountingNode::fire) {}
  static void fire(TimerNode* n) { ++static_cast<CountingNode*>(n)->fired; }
  int fired = 0;
};

TEST(TimerWheelWrap, HugeDelayDoesNotWrapIntoTheNextTick) {
  for (uint32_t tick : {1u, 10u, 7u}) {
    for (uint64_t delay : {UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - tick + 1}) {
      constexpr uint64_t kStart = 1'000'000;
      TimerWheel w(kStart, tick);
      CountingNode never, soon;
      w.advance(kStart + 5 * tick);  // current tick > 0: the deadline sum would wrap too
      w.schedule(&never, delay);
      w.schedule(&soon, 3 * tick);
      // Ten revolutions later only the short timer has fired.
      for (uint64_t t = kStart; t <= kStart + 10ull * TimerWheel::kSlots * tick; t += 97 * tick)
        w.advance(t);
      EXPECT_EQ(soon.fired, 1) << "tick " << tick;
      EXPECT_EQ(never.fired, 0) << "tick " << tick << ", delay " << delay;
      EXPECT_TRUE(never.armed());
      never.cancel();
      EXPECT_EQ(w.size(), 0u);
    }
  }
}

TEST(TimerWheelWrap, LongestConfigurableTimeoutStillFiresOnTime) {
  // 365 days, the largest --idle-timeout/--drain-timeout: exact arithmetic, fires once.
  constexpr uint64_t kYearMs = 365ull * 86400 * 1000;
  TimerWheel w(0, 10);
  CountingNode n;
  w.schedule(&n, kYearMs);
  w.advance(kYearMs - 10);
  EXPECT_EQ(n.fired, 0);
  w.advance(kYearMs);
  EXPECT_EQ(n.fired, 1);
}

}  // namespace
