// Test payloads: seeded random bytes, a position-addressable pseudo-random stream, the upper
// transform, and FNV-1a checksums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rt {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// FNV-1a 64; chain calls by passing the previous result as `h`.
uint64_t fnv1a(const void* data, size_t n, uint64_t h = kFnvOffset);
inline uint64_t fnv1a(std::string_view s, uint64_t h = kFnvOffset) {
  return fnv1a(s.data(), s.size(), h);
}

// `n` bytes of every value 0..255, reproducible from `seed`.
std::string random_bytes(size_t n, uint64_t seed);

// What the upper protocol returns: ASCII a-z upper-cased, every other byte unchanged.
void upper_in_place(char* p, size_t n);
std::string upper_expected(std::string_view in);

enum class Transform { kIdentity, kUpper };
inline void apply(Transform t, char* p, size_t n) {
  if (t == Transform::kUpper) upper_in_place(p, n);
}

// An endless byte stream in which byte i depends only on (seed, i): a sender and a checker can
// each produce any range of it independently, so gigabytes need not be kept in memory.
class PatternStream {
 public:
  explicit PatternStream(uint64_t seed) : seed_(seed) {}
  void fill(uint64_t offset, char* out, size_t n) const;
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
};

// FNV-1a over the stream's first `n` bytes after `t`.
uint64_t pattern_checksum(const PatternStream& s, uint64_t n, Transform t);

// Byte sizes are scaled down under sanitizers only where a test says it may be.
constexpr bool kSanitized = REACTORD_TEST_SANITIZED != 0;

}  // namespace rt
