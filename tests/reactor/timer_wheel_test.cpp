// TimerWheel with synthetic time (the wheel takes now_ms explicitly, so this is deterministic):
// O(1) schedule/cancel semantics, firing once at or after the deadline, ordering, re-arming
// from callbacks, timers longer than one revolution, next_timeout_ms(), size().
//
// Semantics under test (timer_wheel.h): schedule(node, d) arms the node for the tick
// current + max(1, ceil(d / tick)), where `current` is the tick of the last advance();
// advance(now) fires every node whose tick is <= (now - origin) / tick.
#include "reactor/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace {

using reactor::TimerNode;
using reactor::TimerWheel;

constexpr uint64_t kOrigin = 1'000'000;
constexpr uint64_t kTick = 10;
constexpr uint64_t kRevolutionMs = TimerWheel::kSlots * kTick;

struct Fired {
  int id;
  uint64_t deadline_tick;
};

struct TestTimer : TimerNode {
  TestTimer(int id_, std::vector<Fired>* log_) : TimerNode(&TestTimer::fire), id(id_), log(log_) {}
  static void fire(TimerNode* n) {
    auto* t = static_cast<TestTimer*>(n);
    t->log->push_back({t->id, t->deadline_tick()});
    ++t->count;
    if (t->on_fire) t->on_fire(*t);
  }
  int id;
  std::vector<Fired>* log;
  int count = 0;
  std::function<void(TestTimer&)> on_fire;
};

std::vector<int> ids(const std::vector<Fired>& log) {
  std::vector<int> v;
  for (const auto& f : log) v.push_back(f.id);
  return v;
}

TEST(TimerWheel, FiresOnceAtItsDeadlineNotBefore) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer t(1, &log);
  EXPECT_FALSE(t.armed());
  w.schedule(&t, 50);
  EXPECT_TRUE(t.armed());
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.advance(kOrigin + 49), 0u);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(w.advance(kOrigin + 50), 1u);
  EXPECT_EQ(ids(log), std::vector<int>{1});
  EXPECT_FALSE(t.armed());
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.advance(kOrigin + 100000), 0u);
  EXPECT_EQ(t.count, 1);
}

TEST(TimerWheel, DelayRoundsUpToWholeTicksAndIsNeverZero) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer a(1, &log), b(2, &log), c(3, &log);
  w.schedule(&a, 0);   // at least one tick
  w.schedule(&b, 1);   // rounds up to one tick
  w.schedule(&c, 11);  // two ticks
  EXPECT_EQ(w.advance(kOrigin), 0u);
  EXPECT_EQ(w.advance(kOrigin + 9), 0u);
  EXPECT_EQ(w.advance(kOrigin + 10), 2u);
  EXPECT_EQ(ids(log), (std::vector<int>{1, 2}));
  EXPECT_EQ(w.advance(kOrigin + 19), 0u);
  EXPECT_EQ(w.advance(kOrigin + 20), 1u);
  EXPECT_EQ(ids(log), (std::vector<int>{1, 2, 3}));
}

TEST(TimerWheel, DelayCountsFromTheLastAdvance) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  w.advance(kOrigin + 5000);
  TestTimer t(1, &log);
  w.schedule(&t, 100);
  EXPECT_EQ(w.advance(kOrigin + 5099), 0u);
  EXPECT_EQ(w.advance(kOrigin + 5100), 1u);
  EXPECT_EQ(log[0].deadline_tick, 510u);
}

// The event loop may sleep a long time with no timer armed, then arm one from an I/O callback
// before its next advance(): set_now() makes that timer count from the wake-up, not from the
// last advance (else it would be due at once).
TEST(TimerWheel, SetNowMakesDelaysCountFromTheWakeUp) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  w.advance(kOrigin);
  const uint64_t woke = kOrigin + 100'000;
  w.set_now(woke);
  TestTimer t(1, &log);
  w.schedule(&t, 2000);
  EXPECT_EQ(w.advance(woke), 0u);
  EXPECT_EQ(w.advance(woke + 1999), 0u);
  EXPECT_EQ(w.advance(woke + 2000), 1u);
  // Time never goes backwards: an older set_now() changes nothing.
  w.set_now(kOrigin);
  w.schedule(&t, 50);
  EXPECT_EQ(w.advance(woke + 2049), 0u);
  EXPECT_EQ(w.advance(woke + 2050), 1u);
}

TEST(TimerWheel, CancelIsImmediateAndIdempotent) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer a(1, &log), b(2, &log), c(3, &log);
  w.schedule(&a, 30);
  w.schedule(&b, 30);
  w.schedule(&c, 30);
  EXPECT_EQ(w.size(), 3u);
  b.cancel();
  EXPECT_FALSE(b.armed());
  EXPECT_EQ(w.size(), 2u);
  b.cancel();  // no-op when not armed
  EXPECT_EQ(w.size(), 2u);
  TestTimer never(9, &log);
  never.cancel();  // never armed: no-op
  EXPECT_EQ(w.advance(kOrigin + 30), 2u);
  EXPECT_EQ(ids(log), (std::vector<int>{1, 3}));
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, RescheduleMovesTheTimer) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer t(1, &log);
  w.schedule(&t, 20);
  w.schedule(&t, 500);  // re-arm: the old deadline is forgotten
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.advance(kOrigin + 499), 0u);
  EXPECT_EQ(w.advance(kOrigin + 500), 1u);
  w.schedule(&t, 500);
  w.schedule(&t, 20);  // and it can move earlier
  EXPECT_EQ(w.advance(kOrigin + 520), 1u);
  EXPECT_EQ(t.count, 2);
}

TEST(TimerWheel, DestroyingAnArmedNodeUnlinksIt) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer keep(1, &log);
  {
    TestTimer gone(2, &log);
    w.schedule(&gone, 40);
    w.schedule(&keep, 40);
    EXPECT_EQ(w.size(), 2u);
  }
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.advance(kOrigin + 40), 1u);
  EXPECT_EQ(ids(log), std::vector<int>{1});
}

TEST(TimerWheel, NodesMayOutliveTheWheel) {
  std::vector<Fired> log;
  TestTimer t(1, &log);
  {
    TimerWheel w(kOrigin, kTick);
    w.schedule(&t, 1000);
  }
  EXPECT_FALSE(t.armed());
  t.cancel();  // must not touch the dead wheel
}

TEST(TimerWheel, OrderWithinAndAcrossTicks) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  std::vector<std::unique_ptr<TestTimer>> ts;
  // Scheduled out of order; ids 1-3 share a tick and must fire in scheduling order.
  int delays[] = {50, 50, 50, 30, 10, 90, 20, 30};
  for (int i = 0; i < 8; ++i) {
    ts.push_back(std::make_unique<TestTimer>(i + 1, &log));
    w.schedule(ts.back().get(), static_cast<uint64_t>(delays[i]));
  }
  // One big jump: everything fires in one advance(), still in deadline order.
  EXPECT_EQ(w.advance(kOrigin + 1000), 8u);
  EXPECT_EQ(ids(log), (std::vector<int>{5, 7, 4, 8, 1, 2, 3, 6}));
  for (size_t i = 1; i < log.size(); ++i) EXPECT_LE(log[i - 1].deadline_tick, log[i].deadline_tick);
}

TEST(TimerWheel, RearmFromInsideCallback) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer periodic(1, &log);
  periodic.on_fire = [&w](TestTimer& t) {
    if (t.count < 25) w.schedule(&t, 10);
  };
  w.schedule(&periodic, 10);
  // Tick by tick: exactly one firing per tick, each re-armed for the next one.
  for (uint64_t k = 1; k <= 25; ++k) {
    ASSERT_EQ(w.advance(kOrigin + k * kTick), 1u) << "tick " << k;
    ASSERT_EQ(log.back().deadline_tick, k);
    EXPECT_EQ(w.size(), k < 25 ? 1u : 0u);
  }
  EXPECT_EQ(periodic.count, 25);
  EXPECT_FALSE(periodic.armed());
  EXPECT_EQ(w.advance(kOrigin + 10'000), 0u);
}

TEST(TimerWheel, ZeroDelayRearmIsNotRevisitedInTheSameAdvance) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer t(1, &log);
  t.on_fire = [&w](TestTimer& self) { w.schedule(&self, 0); };
  w.schedule(&t, 10);
  EXPECT_EQ(w.advance(kOrigin + 10), 1u);  // fired once, re-armed for the next tick
  EXPECT_TRUE(t.armed());
  EXPECT_EQ(w.advance(kOrigin + 19), 0u);
  EXPECT_EQ(w.advance(kOrigin + 20), 1u);
  t.on_fire = nullptr;
  t.cancel();
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, CallbackCancelsOrReschedulesAnotherDueTimer) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer a(1, &log), b(2, &log), c(3, &log), d(4, &log);
  // All four are due in the same tick; a cancels b, c pushes d 200 ms out.
  a.on_fire = [&](TestTimer&) { b.cancel(); };
  c.on_fire = [&](TestTimer&) { w.schedule(&d, 200); };
  for (TestTimer* t : {&a, &b, &c, &d}) w.schedule(t, 50);
  EXPECT_EQ(w.advance(kOrigin + 50), 2u);
  EXPECT_EQ(ids(log), (std::vector<int>{1, 3}));
  EXPECT_EQ(w.size(), 1u);
  EXPECT_TRUE(d.armed());
  EXPECT_FALSE(b.armed());
  EXPECT_EQ(w.advance(kOrigin + 249), 0u);
  EXPECT_EQ(w.advance(kOrigin + 250), 1u);
  EXPECT_EQ(ids(log), (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, TimersLongerThanOneRevolution) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer shortt(1, &log), one_rev(2, &log), long1(3, &log), long2(4, &log);
  // Same slot as `shortt` but one and two revolutions later.
  w.schedule(&shortt, 100);
  w.schedule(&one_rev, 100 + kRevolutionMs);
  w.schedule(&long1, 100 + 2 * kRevolutionMs);
  w.schedule(&long2, 25'000);  // 2500 ticks: wraps twice, different slot
  EXPECT_EQ(w.size(), 4u);
  // Walk time forward in uneven steps; each fires exactly once, at or after its deadline.
  std::map<int, uint64_t> fired_at;
  uint64_t now = kOrigin;
  while (now < kOrigin + 40'000) {
    now += 7 + (now % 13) * 37;
    size_t before = log.size();
    w.advance(now);
    for (size_t i = before; i < log.size(); ++i) {
      EXPECT_FALSE(fired_at.count(log[i].id)) << "timer " << log[i].id << " fired twice";
      fired_at[log[i].id] = now;
    }
  }
  ASSERT_EQ(fired_at.size(), 4u);
  EXPECT_GE(fired_at[1], kOrigin + 100);
  EXPECT_GE(fired_at[2], kOrigin + 100 + kRevolutionMs);
  EXPECT_GE(fired_at[3], kOrigin + 100 + 2 * kRevolutionMs);
  EXPECT_GE(fired_at[4], kOrigin + 25'000);
  // ... and within one step (< 500 ms) of it: not a revolution late.
  EXPECT_LT(fired_at[2], kOrigin + 100 + kRevolutionMs + 500);
  EXPECT_LT(fired_at[3], kOrigin + 100 + 2 * kRevolutionMs + 500);
  EXPECT_LT(fired_at[4], kOrigin + 25'000 + 500);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, LongTimerSurvivesBigJumpsThatSkipItsSlot) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer t(1, &log);
  w.schedule(&t, 30'000);  // slot 3000 % 1024 = 952
  // Jumps land past slot 952 twice without reaching the deadline.
  EXPECT_EQ(w.advance(kOrigin + 12'000), 0u);
  EXPECT_EQ(w.advance(kOrigin + 25'000), 0u);
  EXPECT_EQ(w.advance(kOrigin + 29'999), 0u);
  EXPECT_EQ(w.advance(kOrigin + 30'000), 1u);
}

TEST(TimerWheel, NextTimeout) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  EXPECT_EQ(w.next_timeout_ms(kOrigin), -1);  // nothing armed: sleep forever
  TestTimer a(1, &log), b(2, &log);
  w.schedule(&a, 50);
  EXPECT_EQ(w.next_timeout_ms(kOrigin), 50);
  EXPECT_EQ(w.next_timeout_ms(kOrigin + 20), 30);
  EXPECT_EQ(w.next_timeout_ms(kOrigin + 60), 0);  // overdue: do not sleep
  w.schedule(&b, 20);
  EXPECT_EQ(w.next_timeout_ms(kOrigin), 20);
  b.cancel();
  EXPECT_EQ(w.next_timeout_ms(kOrigin), 50);
  a.cancel();
  EXPECT_EQ(w.next_timeout_ms(kOrigin), -1);
}

TEST(TimerWheel, NextTimeoutForLongTimersNeverOversleeps) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  TestTimer t(1, &log);
  const uint64_t deadline = kOrigin + 60'000;
  w.schedule(&t, 60'000);
  uint64_t now = kOrigin;
  int wakeups = 0;
  // Sleep exactly as told, like the event loop does, until the timer fires.
  while (log.empty()) {
    ASSERT_LT(++wakeups, 100) << "too many wake-ups";
    int timeout = w.next_timeout_ms(now);
    ASSERT_GT(timeout, 0) << "busy loop: zero timeout right after advance()";
    ASSERT_LE(now + static_cast<uint64_t>(timeout), deadline) << "would oversleep the timer";
    now += static_cast<uint64_t>(timeout);
    w.advance(now);
  }
  EXPECT_EQ(now, deadline);
}

TEST(TimerWheel, NextTimeoutIsCappedAtOneHour) {
  TimerWheel w(kOrigin, 10'000);  // 10 s ticks: a revolution is ~2.8 hours
  std::vector<Fired> log;
  TestTimer t(1, &log);
  w.schedule(&t, 7'200'000);
  EXPECT_EQ(w.next_timeout_ms(kOrigin), 3'600'000);
}

TEST(TimerWheel, SizeTracksArmedNodes) {
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  std::vector<std::unique_ptr<TestTimer>> ts;
  for (int i = 0; i < 100; ++i) {
    ts.push_back(std::make_unique<TestTimer>(i, &log));
    w.schedule(ts.back().get(), static_cast<uint64_t>(10 * (i % 10 + 1)));
    EXPECT_EQ(w.size(), static_cast<size_t>(i + 1));
  }
  for (int i = 0; i < 100; i += 3) ts[i]->cancel();
  EXPECT_EQ(w.size(), 100u - 34u);
  size_t due_by_tick5 = 0;  // delays 10..50 ms, not cancelled
  for (int i = 0; i < 100; ++i) due_by_tick5 += (i % 10 < 5 && i % 3 != 0);
  EXPECT_EQ(w.advance(kOrigin + 50), due_by_tick5);
  EXPECT_EQ(w.size(), 100u - 34u - log.size());
  w.advance(kOrigin + 1000);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(log.size(), 66u);
}

// Random schedules, cancels and advances against an oracle: every armed timer fires exactly
// once, in the first advance() whose tick reaches its deadline, in (deadline, scheduling
// order) order, and never before last-advance-tick + delay.
TEST(TimerWheel, RandomizedAgainstOracle) {
  std::mt19937_64 rng(42);
  std::vector<Fired> log;
  TimerWheel w(kOrigin, kTick);
  constexpr int kTimers = 300;
  std::vector<std::unique_ptr<TestTimer>> ts;
  struct Expect {
    bool armed = false;
    uint64_t tick = 0;
    uint64_t seq = 0;
    uint64_t earliest_ms = 0;
  };
  std::vector<Expect> oracle(kTimers);
  for (int i = 0; i < kTimers; ++i) ts.push_back(std::make_unique<TestTimer>(i, &log));
  uint64_t now = kOrigin, current_tick = 0, seq = 0;
  size_t armed = 0;
  for (int op = 0; op < 20000; ++op) {
    int kind = static_cast<int>(rng() % 10);
    if (kind < 5) {
      int i = static_cast<int>(rng() % kTimers);
      uint64_t delay = rng() % 4 == 0 ? rng() % 40'000 : rng() % 2'000;
      if (!oracle[i].armed) ++armed;
      w.schedule(ts[i].get(), delay);
      uint64_t ticks = std::max<uint64_t>(1, (delay + kTick - 1) / kTick);
      oracle[i] = {true, current_tick + ticks, seq++, kOrigin + current_tick * kTick + delay};
    } else if (kind < 7) {
      int i = static_cast<int>(rng() % kTimers);
      if (oracle[i].armed) --armed;
      ts[i]->cancel();
      oracle[i].armed = false;
    } else {
      now += rng() % 10 == 0 ? rng() % 30'000 : rng() % 300;
      uint64_t target = (now - kOrigin) / kTick;
      std::vector<int> want;
      for (int i = 0; i < kTimers; ++i)
        if (oracle[i].armed && oracle[i].tick <= target) want.push_back(i);
      std::sort(want.begin(), want.end(), [&](int a, int b) {
        return oracle[a].tick != oracle[b].tick ? oracle[a].tick < oracle[b].tick
                                                : oracle[a].seq < oracle[b].seq;
      });
      log.clear();
      size_t n = w.advance(now);
      ASSERT_EQ(n, want.size()) << "op " << op;
      ASSERT_EQ(ids(log), want) << "op " << op;
      for (int i : want) {
        EXPECT_GE(now, oracle[i].earliest_ms) << "timer " << i << " fired early";
        oracle[i].armed = false;
      }
      armed -= want.size();
      current_tick = target;
      int next = w.next_timeout_ms(now);
      if (armed == 0) {
        EXPECT_EQ(next, -1);
      } else {
        uint64_t earliest = UINT64_MAX;
        for (const auto& e : oracle)
          if (e.armed) earliest = std::min(earliest, e.tick);
        EXPECT_GT(next, 0) << "op " << op;
        EXPECT_LE(now + static_cast<uint64_t>(next), kOrigin + earliest * kTick) << "op " << op;
      }
    }
    ASSERT_EQ(w.size(), armed) << "op " << op;
  }
}

}  // namespace
