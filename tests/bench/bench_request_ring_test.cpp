// reactord-bench's per-connection request FIFO: in-flight vs queued, requeue, growth.
#include <gtest/gtest.h>

#include "bench/loadgen/request_ring.h"

namespace reactord::bench {
namespace {

TEST(BenchRequestRing, QueuedThenSentThenAnswered) {
  RequestRing r(2);
  r.push_queued(100, 1);
  r.push_queued(200, 2);
  EXPECT_EQ(r.queued(), 2u);
  EXPECT_EQ(r.in_flight(), 0u);
  EXPECT_EQ(r.mark_sent(150).seq, 1u);
  EXPECT_EQ(r.in_flight(), 1u);
  EXPECT_EQ(r.front().intended_ns, 100u);
  EXPECT_EQ(r.front().sent_ns, 150u);
  r.pop_front();
  EXPECT_EQ(r.in_flight(), 0u);
  EXPECT_EQ(r.queued(), 1u);
}

TEST(BenchRequestRing, GrowsKeepingOrder) {
  RequestRing r(2);
  for (uint64_t i = 0; i < 3; ++i) r.push_queued(i, i);
  r.mark_sent(0);
  r.pop_front();  // head moves so that growth has to unwrap
  for (uint64_t i = 3; i < 100; ++i) r.push_queued(i, i);
  EXPECT_EQ(r.size(), 99u);
  for (uint64_t i = 1; i < 100; ++i) {
    EXPECT_EQ(r.mark_sent(0).seq, i);
    EXPECT_EQ(r.front().seq, i);
    r.pop_front();
  }
  EXPECT_TRUE(r.empty());
}

TEST(BenchRequestRing, UnsendRequeuesInOrder) {
  RequestRing r;
  for (uint64_t i = 0; i < 4; ++i) r.push_queued(i, i);
  r.mark_sent(1);
  r.mark_sent(1);
  r.mark_sent(1);
  r.pop_front();
  r.unsend_all();  // the server announced its close: 1 and 2 were never processed
  EXPECT_EQ(r.in_flight(), 0u);
  EXPECT_EQ(r.queued(), 3u);
  EXPECT_EQ(r.mark_sent(2).seq, 1u);
}

TEST(BenchRequestRing, DropInFlightKeepsQueued) {
  RequestRing r;
  for (uint64_t i = 0; i < 5; ++i) r.push_queued(i, i);
  r.mark_sent(1);
  r.mark_sent(1);
  EXPECT_EQ(r.drop_in_flight(), 2u);
  EXPECT_EQ(r.queued(), 3u);
  EXPECT_EQ(r.mark_sent(2).seq, 2u);
  EXPECT_EQ(r.clear(), 3u);
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace reactord::bench
