#include "tests/support/payload.h"

#include <cstring>
#include <vector>

namespace rt {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t fnv1a(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
  return h;
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  PatternStream(seed).fill(0, s.data(), n);
  return s;
}

void upper_in_place(char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] >= 'a' && p[i] <= 'z') p[i] = static_cast<char>(p[i] - 'a' + 'A');
  }
}

std::string upper_expected(std::string_view in) {
  std::string s(in);
  upper_in_place(s.data(), s.size());
  return s;
}

void PatternStream::fill(uint64_t offset, char* out, size_t n) const {
  size_t i = 0;
  while (i < n) {
    uint64_t pos = offset + i;
    uint64_t word = splitmix64(seed_ * 0x9e3779b97f4a7c15ull + pos / 8);
    unsigned shift = static_cast<unsigned>(pos % 8);
    for (unsigned b = shift; b < 8 && i < n; ++b, ++i)
      out[i] = static_cast<char>(static_cast<unsigned char>(word >> (8 * b)));
  }
}

uint64_t pattern_checksum(const PatternStream& s, uint64_t n, Transform t) {
  std::vector<char> buf(1 << 16);
  uint64_t h = kFnvOffset;
  for (uint64_t off = 0; off < n;) {
    size_t len = static_cast<size_t>(n - off < buf.size() ? n - off : buf.size());
    s.fill(off, buf.data(), len);
    apply(t, buf.data(), len);
    h = fnv1a(buf.data(), len, h);
    off += len;
  }
  return h;
}

}  // namespace rt
