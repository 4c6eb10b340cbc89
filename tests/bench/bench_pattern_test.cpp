// reactord-bench's payload patterns: deterministic, varied per request, verified per byte.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "bench/loadgen/pattern.h"

namespace reactord::bench {
namespace {

TEST(BenchPattern, DeterministicAcrossInstances) {
  PatternSet a(256, false), b(256, false);
  for (uint64_t seq = 0; seq < 3000; ++seq)
    ASSERT_EQ(std::memcmp(a.request(seq), b.request(seq), 256), 0);
}

TEST(BenchPattern, ConsecutiveRequestsDiffer) {
  PatternSet p(64, false);
  for (uint64_t seq = 0; seq < PatternSet::kVariants; ++seq)
    ASSERT_NE(std::memcmp(p.request(seq), p.request(seq + 1), 64), 0) << seq;
}

TEST(BenchPattern, OffsetsCycleThroughAllWindows) {
  std::vector<bool> seen(PatternSet::kVariants);
  for (uint64_t seq = 0; seq < PatternSet::kVariants; ++seq) seen[PatternSet::offset(seq)] = true;
  for (bool s : seen) EXPECT_TRUE(s);
}

TEST(BenchPattern, EchoExpectsTheSameBytes) {
  PatternSet p(1000, false);
  EXPECT_EQ(std::memcmp(p.request(7), p.expected(7), 1000), 0);
  EXPECT_TRUE(p.verify(7, 0, p.request(7), 1000));
}

TEST(BenchPattern, UpperExpectsUppercasedLettersOnly) {
  PatternSet p(4096, true);
  const char* req = p.request(3);
  const char* exp = p.expected(3);
  int lowercase = 0;
  for (size_t i = 0; i < 4096; ++i) {
    char c = req[i];
    if (c >= 'a' && c <= 'z') {
      ++lowercase;
      EXPECT_EQ(exp[i], c - 32);
    } else {
      EXPECT_EQ(exp[i], c);  // digits, punctuation, uppercase and bytes >= 0x80 untouched
    }
  }
  EXPECT_GT(lowercase, 4096 / 3);  // upper is really exercised
  // The unconverted request does not verify as an upper reply.
  EXPECT_FALSE(p.verify(3, 0, req, 4096));
}

TEST(BenchPattern, VerifiesPiecewiseAndDetectsOneBadByte) {
  PatternSet p(300, true);
  std::string reply(p.expected(11), 300);
  // The reply may arrive in any pieces.
  EXPECT_TRUE(p.verify(11, 0, reply.data(), 100));
  EXPECT_TRUE(p.verify(11, 100, reply.data() + 100, 200));
  reply[150] ^= 1;
  EXPECT_TRUE(p.verify(11, 0, reply.data(), 150));
  EXPECT_FALSE(p.verify(11, 150, reply.data() + 150, 150));
  // Another request's reply does not pass for this one.
  EXPECT_FALSE(p.verify(12, 0, p.expected(11), 300));
}

TEST(BenchPattern, ReferenceUpper) {
  EXPECT_EQ(reference_upper('a'), 'A');
  EXPECT_EQ(reference_upper('z'), 'Z');
  EXPECT_EQ(reference_upper('A'), 'A');
  EXPECT_EQ(reference_upper('{'), '{');
  EXPECT_EQ(reference_upper('`'), '`');
  EXPECT_EQ(reference_upper(static_cast<char>(0xe1)), static_cast<char>(0xe1));
}

}  // namespace
}  // namespace reactord::bench
