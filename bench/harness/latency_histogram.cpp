// Log-linear latency histogram: bucket geometry, percentiles, merge and JSON summary.
#include "harness/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "harness/json_writer.h"

namespace reactord::bench {
namespace {

constexpr int64_t kSubBuckets = int64_t{1} << LatencyHistogram::kSubBucketBits;

// Index over the whole non-negative int64 range: values below 2*kSubBuckets map to themselves
// (exact), above that each power of two [2^m, 2^(m+1)) adds kSubBuckets buckets of width
// 2^(m - kSubBucketBits). The shift keeps the top kSubBucketBits+1 bits of the value, which is
// what bounds a bucket's width to 1/kSubBuckets of its lower edge.
constexpr std::size_t raw_index(int64_t v) {
  const int msb = 63 - std::countl_zero(static_cast<uint64_t>(v | 1));
  const int shift = std::max(msb - LatencyHistogram::kSubBucketBits, 0);
  return static_cast<std::size_t>(shift * kSubBuckets + (v >> shift));
}

constexpr int raw_shift(std::size_t raw) {
  return std::max(static_cast<int>(static_cast<int64_t>(raw) / kSubBuckets) - 1, 0);
}

constexpr int64_t raw_lower(std::size_t raw) {
  const int shift = raw_shift(raw);
  return (static_cast<int64_t>(raw) - shift * kSubBuckets) << shift;
}

// Only the clamped range needs storage: indexes are offset by the first in-range bucket.
constexpr std::size_t kFirstRaw = raw_index(LatencyHistogram::kMinNs);
constexpr std::size_t kLastRaw = raw_index(LatencyHistogram::kMaxNs);
constexpr std::size_t kBucketCount = kLastRaw - kFirstRaw + 1;

static_assert(raw_index(255) == 255 && raw_index(256) == 256 && raw_index(511) == 383 &&
              raw_index(512) == 384);
static_assert(raw_lower(raw_index(1'000)) <= 1'000 && raw_lower(383) == 510 &&
              raw_lower(384) == 512);

constexpr int64_t clamp_value(int64_t v) {
  return std::clamp(v, LatencyHistogram::kMinNs, LatencyHistogram::kMaxNs);
}

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

std::size_t LatencyHistogram::bucket_count() {
  return kBucketCount;
}

std::size_t LatencyHistogram::bucket_index(int64_t value_ns) {
  return raw_index(clamp_value(value_ns)) - kFirstRaw;
}

int64_t LatencyHistogram::bucket_lower(std::size_t index) {
  return raw_lower(index + kFirstRaw);
}

int64_t LatencyHistogram::bucket_width(std::size_t index) {
  return int64_t{1} << raw_shift(index + kFirstRaw);
}

void LatencyHistogram::record_n(int64_t value_ns, uint64_t n) {
  if (n == 0) return;
  if (value_ns < kMinNs) {
    clamped_low_ += n;
  } else if (value_ns > kMaxNs) {
    clamped_high_ += n;
  }
  const int64_t v = clamp_value(value_ns);
  counts_[raw_index(v) - kFirstRaw] += n;
  if (count_ == 0) {
    min_ = max_ = v;
  } else {
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }
  count_ += n;
  sum_ += static_cast<double>(v) * static_cast<double>(n);
}

void LatencyHistogram::record_corrected(int64_t value_ns, int64_t expected_interval_ns) {
  record(value_ns);
  if (expected_interval_ns <= 0) return;
  // The samples a stalled closed-loop client never sent would each have waited one interval less.
  for (int64_t missing = value_ns - expected_interval_ns; missing >= expected_interval_ns;
       missing -= expected_interval_ns) {
    record(missing);
  }
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
  clamped_low_ += other.clamped_low_;
  clamped_high_ += other.clamped_high_;
}

void LatencyHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = clamped_low_ = clamped_high_ = 0;
  min_ = max_ = 0;
  sum_ = 0.0;
}

int64_t LatencyHistogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  if (!(percent > 0.0)) return min_;  // also catches NaN
  if (percent >= 100.0) return max_;
  // Nearest rank. The small slack keeps e.g. 99.9% of 1000 at rank 999 despite 0.999 not being
  // representable exactly in binary.
  const double exact_rank = percent / 100.0 * static_cast<double>(count_);
  uint64_t rank = static_cast<uint64_t>(std::ceil(exact_rank - 1e-7));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int64_t mid = bucket_lower(i) + bucket_width(i) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;  // unreachable while counts_ and count_ agree
}

void LatencyHistogram::write_json_us(JsonWriter& out) const {
  const auto us = [](int64_t ns) { return static_cast<double>(ns) / 1e3; };
  out.begin_object();
  out.member("count", count_);
  out.member("min", us(min()));
  out.member("mean", mean() / 1e3);
  out.member("p50", percentile_us(50.0));
  out.member("p90", percentile_us(90.0));
  out.member("p99", percentile_us(99.0));
  out.member("p999", percentile_us(99.9));
  out.member("p9999", percentile_us(99.99));
  out.member("max", us(max()));
  out.end_object();
}

}  // namespace reactord::bench
