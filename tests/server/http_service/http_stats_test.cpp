// The request-duration histogram's bucket choice at every boundary (bucket i ends at
// 16 us * 4^i, the last is +Inf), and the request clock's direction.
#include "server/http_service/http_stats.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "server/http_service/request_clock.h"

namespace reactord {
namespace {

TEST(DurationBuckets, EachBoundaryBelongsToTheBucketItEnds) {
  EXPECT_EQ(HttpStats::duration_bucket(0), 0);
  uint64_t upper = 16;
  for (int i = 0; i < HttpStats::kDurationBuckets - 1; ++i, upper *= 4) {
    EXPECT_EQ(HttpStats::duration_bucket(upper), i) << upper;
    EXPECT_EQ(HttpStats::duration_bucket(upper + 1), i + 1) << upper + 1;
  }
  EXPECT_EQ(HttpStats::duration_bucket(UINT64_MAX), HttpStats::kDurationBuckets - 1);
}

TEST(DurationBuckets, ObserveCountsOnceWithTheSum) {
  HttpStats s;
  s.observe_duration(10);
  s.observe_duration(100);
  s.observe_duration(100);
  EXPECT_EQ(s.duration_count.get(), 3u);
  EXPECT_EQ(s.duration_sum_us.get(), 210u);
  EXPECT_EQ(s.duration_buckets[0].get(), 1u);
  EXPECT_EQ(s.duration_buckets[2].get(), 2u);
}

TEST(RequestClock, NeverGoesBackwards) {
  RequestClock::init();
  uint64_t last = RequestClock::now();
  for (int i = 0; i < 100000; ++i) {
    uint64_t t = RequestClock::now();
    ASSERT_GE(t, last);
    last = t;
  }
  EXPECT_EQ(RequestClock::to_us(0), 0u);
}

}  // namespace
}  // namespace reactord
