// Request payloads for echo/upper and the replies they must come back as, precomputed once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace reactord::bench {

// One long pseudo-random buffer; request `seq` is the window of `size` bytes starting at
// offset(seq). Windows differ per request (a misplaced or repeated reply does not verify) yet
// nothing is generated per request: sending is a memcpy and checking is a memcmp against the
// precomputed expected buffer (the same bytes for echo, a-z upper-cased for upper).
class PatternSet {
 public:
  static constexpr uint32_t kVariants = 1024;  // distinct windows; a power of two
  static constexpr uint32_t kStride = 389;     // odd, so seq -> offset cycles all windows
  static constexpr uint64_t kDefaultSeed = 0x9e3779b97f4a7c15ull;

  PatternSet(size_t size, bool upper, uint64_t seed = kDefaultSeed);

  size_t size() const { return size_; }
  static uint32_t offset(uint64_t seq) {
    return static_cast<uint32_t>((seq * kStride) & (kVariants - 1));
  }
  const char* request(uint64_t seq) const { return send_.data() + offset(seq); }
  const char* expected(uint64_t seq) const { return expect_.data() + offset(seq); }
  // True when [data, data+n) equals bytes [pos, pos+n) of request seq's expected reply.
  bool verify(uint64_t seq, size_t pos, const char* data, size_t n) const {
    return std::memcmp(expected(seq) + pos, data, n) == 0;
  }

 private:
  size_t size_;
  std::vector<char> send_;
  std::vector<char> expect_;
};

// The reference upper-casing (ASCII a-z only): written independently of the server's
// upper_ascii so a bug there cannot hide by being applied to both sides.
inline char reference_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace reactord::bench
