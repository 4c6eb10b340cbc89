// Builds the request pattern: mostly lowercase letters (what upper changes), mixed with the rest.
#include "bench/loadgen/pattern.h"

namespace reactord::bench {

PatternSet::PatternSet(size_t size, bool upper, uint64_t seed)
    : size_(size), send_(size + kVariants), expect_(size + kVariants) {
  uint64_t x = seed | 1;
  for (size_t i = 0; i < send_.size(); ++i) {
    // xorshift64*: deterministic across runs and platforms, and fast for multi-MiB patterns.
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    uint64_t r = x * 0x2545f4914f6cdd1dull;
    uint32_t pick = static_cast<uint32_t>(r >> 32) % 100;
    uint8_t b = static_cast<uint8_t>(r >> 8);
    char c;
    if (pick < 60) {
      c = static_cast<char>('a' + b % 26);
    } else if (pick < 75) {
      c = static_cast<char>('A' + b % 26);
    } else if (pick < 85) {
      c = static_cast<char>('0' + b % 10);
    } else if (pick < 95) {
      static constexpr char kPunct[] = " \n\t`{|}~@[\\]^_!\"#$%&'()*+,-./:;<=>?";
      c = kPunct[b % (sizeof kPunct - 1)];
    } else {
      c = static_cast<char>(b);  // any byte: echo must be binary-clean, upper must skip these
    }
    send_[i] = c;
    expect_[i] = upper ? reference_upper(c) : c;
  }
}

}  // namespace reactord::bench
