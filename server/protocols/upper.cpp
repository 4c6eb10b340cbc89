// ASCII upper-casing, eight bytes at a time (SWAR), so the cost is about one instruction per
// byte whatever the compiler's vectorizer decides.
#include "server/protocols/upper.h"

#include <cstdint>
#include <cstring>

namespace reactord {

namespace {
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHigh = 0x8080808080808080ull;

// For each byte b of x: 0x20 where b is in 'a'..'z', else 0. Works on the low seven bits, so
// adding 0x80 - 'a' (or 0x80 - 'z' - 1) can never carry into the neighbouring byte; bytes >= 0x80
// are excluded by the final & ~x.
inline uint64_t lower_mask(uint64_t x) {
  uint64_t low7 = x & ~kHigh;
  uint64_t ge_a = low7 + (0x80 - 'a') * kOnes;      // high bit set where b >= 'a'
  uint64_t gt_z = low7 + (0x80 - 'z' - 1) * kOnes;  // high bit set where b > 'z'
  return ((ge_a ^ gt_z) & ~x & kHigh) >> 2;         // 0x80 >> 2 == 0x20
}
}  // namespace

void upper_ascii(char* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    x ^= lower_mask(x);
    memcpy(p + i, &x, 8);
  }
  for (; i < n; ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    p[i] = static_cast<char>(c ^ ((static_cast<unsigned char>(c - 'a') < 26u) << 5));
  }
}

Protocol upper_protocol() {
  return tcp_protocol("upper", "127.0.0.1:7001", plain_handler<UpperHandler>());
}

}  // namespace reactord
