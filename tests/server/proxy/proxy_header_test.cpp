// ProxyHeaderParser: v1 and v2 accepted and refused byte for byte, over every split of the input.
#include "server/proxy/proxy_header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/server/proxy/proxy_headers.h"

namespace {

using reactord::ProxyHeader;
using reactord::ProxyHeaderParser;
using Status = ProxyHeaderParser::Status;

struct Outcome {
  Status status = Status::kNeedMore;
  size_t consumed = 0;  // header bytes consumed in total
  std::string source;
  ProxyHeader::Command command = ProxyHeader::Command::kProxy;
};

// Feeds `bytes` in pieces cut at `cuts` (ascending offsets); stops at kDone/kInvalid.
Outcome feed_split(const std::string& bytes, const std::vector<size_t>& cuts) {
  ProxyHeaderParser p;
  Outcome o;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(bytes.size());
  for (size_t end : ends) {
    auto r = p.feed(std::string_view(bytes).substr(from, end - from));
    o.consumed += r.consumed;
    o.status = r.status;
    from = end;
    if (r.status != Status::kNeedMore) break;
  }
  if (o.status == Status::kDone) {
    o.source = p.header().source.family() == AF_UNSPEC ? "unspec" : p.header().source.to_string();
    o.command = p.header().command;
  }
  return o;
}

Outcome feed_whole(const std::string& bytes) { return feed_split(bytes, {}); }

// Every one- and two-cut split gives the same outcome as the whole input.
void expect_split_invariant(const std::string& bytes) {
  Outcome whole = feed_whole(bytes);
  for (size_t a = 1; a < bytes.size(); ++a) {
    Outcome o = feed_split(bytes, {a});
    ASSERT_EQ(o.status, whole.status) << "cut at " << a;
    ASSERT_EQ(o.source, whole.source) << "cut at " << a;
    if (whole.status == Status::kDone) {
      ASSERT_EQ(o.consumed, whole.consumed) << "cut at " << a;
    }
    for (size_t b = a + 1; b < bytes.size() && bytes.size() < 128; ++b) {
      Outcome o2 = feed_split(bytes, {a, b});
      ASSERT_EQ(o2.status, whole.status) << "cuts at " << a << "," << b;
      ASSERT_EQ(o2.source, whole.source) << "cuts at " << a << "," << b;
    }
  }
}

TEST(ProxyV1, Tcp4WithTrailingDataKept) {
  std::string header = "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\r\n";
  Outcome o = feed_whole(header + "GET / HTTP/1.1\r\n");
  EXPECT_EQ(o.status, Status::kDone);
  EXPECT_EQ(o.consumed, header.size());
  EXPECT_EQ(o.source, "192.0.2.10:56324");
  expect_split_invariant(header + "tail");
}

TEST(ProxyV1, Tcp6) {
  Outcome o = feed_whole("PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n");
  EXPECT_EQ(o.status, Status::kDone);
  EXPECT_EQ(o.source, "[2001:db8::1]:65535");
}

TEST(ProxyV1, UnknownKeepsThePeer) {
  EXPECT_EQ(feed_whole("PROXY UNKNOWN\r\n").source, "unspec");
  EXPECT_EQ(feed_whole("PROXY UNKNOWN ffff::1 whatever\r\n").source, "unspec");
}

TEST(ProxyV1, LongestLineAcceptedOneMoreRefused) {
  std::string line = "PROXY UNKNOWN ";
  line += std::string(ProxyHeaderParser::kV1MaxLength - line.size() - 2, 'x') + "\r\n";
  ASSERT_EQ(line.size(), 107u);
  EXPECT_EQ(feed_whole(line).status, Status::kDone);
  std::string longer = "PROXY UNKNOWN x" + line.substr(14);
  ASSERT_EQ(longer.size(), 108u);
  Outcome o = feed_whole(longer);
  EXPECT_EQ(o.status, Status::kInvalid);
}

TEST(ProxyV1, MalformedLinesRefused) {
  for (const char* bad : {
           "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\n",      // LF without CR
           "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443\rX\n",   // CR without LF
           "PROXY TCP4  192.0.2.10 198.51.100.1 56324 443\r\n",   // two spaces
           "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443 \r\n",   // trailing space
           "PROXY TCP4 192.0.2.10 198.51.100.1 56324\r\n",        // a field missing
           "PROXY TCP4 192.0.2.10 198.51.100.1 56324 443 1\r\n",  // a field too many
           "PROXY TCP4 192.0.2.10 198.51.100.1 65536 443\r\n",    // port out of range
           "PROXY TCP4 192.0.2.10 198.51.100.1 056324 443\r\n",   // six digits
           "PROXY TCP4 192.0.2.10 198.51.100.1 0443 443\r\n",     // leading zero
           "PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n",         // v6 address under TCP4
           "PROXY TCP6 192.0.2.10 2001:db8::1 1 2\r\n",           // v4 address under TCP6
           "PROXY TCP4 192.0.2.256 198.51.100.1 1 2\r\n",         // not an address
           "PROXY UDP4 192.0.2.10 198.51.100.1 1 2\r\n",          // not TCP
           "PROXY \r\n",                                          // nothing
           "proxy TCP4 192.0.2.10 198.51.100.1 1 2\r\n",          // lower case
       }) {
    EXPECT_EQ(feed_whole(bad).status, Status::kInvalid) << bad;
    expect_split_invariant(bad);
  }
}

TEST(ProxyV1, RefusedAtTheFirstWrongByte) {
  ProxyHeaderParser p;
  EXPECT_EQ(p.feed("PROX").status, Status::kNeedMore);
  EXPECT_EQ(p.feed("Z").status, Status::kInvalid);
  ProxyHeaderParser http;
  EXPECT_EQ(http.feed("G").status, Status::kInvalid);
  EXPECT_STREQ(http.error(), "no PROXY signature");
}

TEST(ProxyV2, Tcp4WithTlvsEverySplit) {
  std::string h = rt::proxy_v2_tcp4("192.0.2.10", 56324, "198.51.100.1", 443,
                                    rt::proxy_v2_tlv(0x04, "") + rt::proxy_v2_tlv(0x01, "h2"));
  Outcome o = feed_whole(h + "after");
  EXPECT_EQ(o.status, Status::kDone);
  EXPECT_EQ(o.consumed, h.size());
  EXPECT_EQ(o.source, "192.0.2.10:56324");
  expect_split_invariant(h + "after");
}

TEST(ProxyV2, Tcp6) {
  std::string h = rt::proxy_v2_tcp6("2001:db8::7", 1, "2001:db8::8", 2, "");
  Outcome o = feed_whole(h);
  EXPECT_EQ(o.status, Status::kDone);
  EXPECT_EQ(o.consumed, h.size());
  EXPECT_EQ(o.source, "[2001:db8::7]:1");
  expect_split_invariant(h);
}

TEST(ProxyV2, LocalIgnoresWhateverFollows) {
  std::string empty = rt::proxy_v2_raw(0x20, 0x00, "");
  Outcome o = feed_whole(empty + "x");
  EXPECT_EQ(o.status, Status::kDone);
  EXPECT_EQ(o.command, ProxyHeader::Command::kLocal);
  EXPECT_EQ(o.consumed, 16u);
  EXPECT_EQ(o.source, "unspec");
  // LOCAL with an address block of an unknown family and junk: skipped by its length.
  std::string junk = rt::proxy_v2_raw(0x20, 0x31, std::string(40, '\xff'));
  Outcome j = feed_whole(junk);
  EXPECT_EQ(j.status, Status::kDone);
  EXPECT_EQ(j.consumed, 56u);
}

TEST(ProxyV2, UnspecProxyKeepsThePeer) {
  Outcome o = feed_whole(rt::proxy_v2_raw(0x21, 0x00, "abc"));
  EXPECT_EQ(o.status, Status::kDone);
  EXPECT_EQ(o.source, "unspec");
}

TEST(ProxyV2, LargestHeaderSkippedWithoutBuffering) {
  std::string tlv = rt::proxy_v2_tlv(0xEE, std::string(65535 - 12 - 3, 'v'));
  std::string h = rt::proxy_v2_tcp4("192.0.2.1", 9, "192.0.2.2", 10, tlv);
  ASSERT_EQ(h.size(), 16u + 65535u);
  EXPECT_EQ(feed_split(h, {17, 30, 40000}).status, Status::kDone);
  EXPECT_EQ(feed_split(h, {17, 30, 40000}).source, "192.0.2.1:9");
}

TEST(ProxyV2, MalformedRefused) {
  std::string addr4(12, '\x01');
  const std::string cases[] = {
      rt::proxy_v2_raw(0x11, 0x11, addr4),                        // version 1
      rt::proxy_v2_raw(0x31, 0x11, addr4),                        // version 3
      rt::proxy_v2_raw(0x22, 0x11, addr4),                        // command 2
      rt::proxy_v2_raw(0x21, 0x12, addr4),                        // UDP over IPv4
      rt::proxy_v2_raw(0x21, 0x31, std::string(216, 'u')),        // unix stream
      rt::proxy_v2_raw(0x21, 0x11, std::string(8, '\x01')),       // shorter than addresses
      rt::proxy_v2_raw(0x21, 0x21, std::string(35, '\x01')),      // IPv6 block one short
      rt::proxy_v2_raw(0x21, 0x11, addr4 + "\x01\x00\x05" "ab"),  // TLV past the end
      rt::proxy_v2_raw(0x21, 0x11, addr4 + "\x01\x00"),           // TLV head cut
  };
  for (const std::string& bad : cases) {
    EXPECT_EQ(feed_whole(bad).status, Status::kInvalid) << testing::PrintToString(bad);
    expect_split_invariant(bad);
  }
  std::string sig = rt::proxy_v2_raw(0x21, 0x11, addr4);
  sig[7] = 'X';
  EXPECT_EQ(feed_whole(sig).status, Status::kInvalid);
  ProxyHeaderParser p;
  EXPECT_EQ(p.feed(sig.substr(0, 7)).status, Status::kNeedMore);
  EXPECT_EQ(p.feed(sig.substr(7, 1)).status, Status::kInvalid);  // at once, not at byte 16
}

TEST(ProxyHeader, StatusIsStickyAfterTheEnd) {
  ProxyHeaderParser p;
  ASSERT_EQ(p.feed("PROXY UNKNOWN\r\n").status, Status::kDone);
  auto r = p.feed("more");
  EXPECT_EQ(r.status, Status::kDone);
  EXPECT_EQ(r.consumed, 0u);
}

}  // namespace
