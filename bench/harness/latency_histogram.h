// Log-linear latency histogram for the load generator: O(1) allocation-free record, ≤1% error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace reactord::bench {

class JsonWriter;

// Records latencies in NANOSECONDS (what std::chrono::steady_clock gives without a division on
// the hot path) over the range [1 µs, 60 s]. Values outside the range are clamped to it and still
// counted, so count() always equals the number of record() calls; clamped_low()/clamped_high()
// say how many were clamped.
//
// Bucketing: every power-of-two range [2^k, 2^(k+1)) is split into 128 equal sub-buckets, so a
// bucket is never wider than 1/128 of its lower edge. percentile() answers with the bucket's
// midpoint, hence within 1/256 (0.39%) of the exact sample at that rank; results are also clamped
// to [min(), max()], which are kept exactly.
//
// Not thread-safe: give each load thread its own histogram and merge() them at the end.
class LatencyHistogram {
 public:
  static constexpr int64_t kMinNs = 1'000;           // 1 µs
  static constexpr int64_t kMaxNs = 60'000'000'000;  // 60 s
  static constexpr int kSubBucketBits = 7;           // 128 sub-buckets per power of two

  // Allocates the bucket array once (about 26 KiB); record() never allocates.
  LatencyHistogram();

  // Adds one sample (nanoseconds). O(1), no allocation.
  void record(int64_t value_ns) { record_n(value_ns, 1); }
  // Adds `n` samples of the same value.
  void record_n(int64_t value_ns, uint64_t n);
  // Coordinated-omission correction for closed-loop load: besides `value_ns` itself, back-fills
  // the samples that would have been taken every `expected_interval_ns` while this one stalled
  // (value - interval, value - 2*interval, ... while > interval). Costs O(value / interval).
  // A non-positive interval records just the value.
  void record_corrected(int64_t value_ns, int64_t expected_interval_ns);

  // Adds every sample of `other` (which must have the same layout, i.e. be a LatencyHistogram).
  void merge(const LatencyHistogram& other);
  void reset();

  uint64_t count() const { return count_; }
  // Exact smallest/largest recorded (clamped) value; 0 when empty.
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  // Arithmetic mean of the (clamped) values, summed in double precision; 0 when empty.
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  uint64_t clamped_low() const { return clamped_low_; }
  uint64_t clamped_high() const { return clamped_high_; }

  // Value at `percent` in [0, 100] (e.g. 99.9), nearest-rank definition: the smallest recorded
  // value v such that at least percent% of the samples are <= v. Out-of-range percents are
  // clamped; 0 gives min(), 100 gives max(). Returns 0 when empty.
  int64_t percentile(double percent) const;
  // Same, in microseconds, for reports.
  double percentile_us(double percent) const {
    return static_cast<double>(percentile(percent)) / 1e3;
  }

  // Writes {"count":..,"min":..,"mean":..,"p50":..,"p90":..,"p99":..,"p999":..,"p9999":..,
  // "max":..} with every value in microseconds: the shape of reactord-bench's "latency_us".
  void write_json_us(JsonWriter& out) const;

  // Bucket geometry, public so tests can check the error bound directly.
  static std::size_t bucket_index(int64_t value_ns);
  static int64_t bucket_lower(std::size_t index);
  static int64_t bucket_width(std::size_t index);
  static std::size_t bucket_count();

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t clamped_low_ = 0;
  uint64_t clamped_high_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0.0;
};

}  // namespace reactord::bench
