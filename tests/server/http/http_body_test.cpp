// Unit tests for BodyDecoder: Content-Length and chunked decoding, every chunked syntax error,
// the max_body (413) and trailer (431) limits, and independence from how input is split.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/body_decoder.h"

namespace reactord::http {
namespace {

using namespace std::string_literals;

struct Decoded {
  BodyResult result;
  std::string body;
  size_t consumed = 0;  // total over all feed() calls
  size_t sink_calls = 0;
};

// Delivers `in` as growing prefixes ending at each cut, then whole, the way a connection would:
// each feed() gets the bytes received but not yet consumed.
Decoded decode_cuts(BodyDecoder decoder, std::string_view in, const std::vector<size_t>& cuts) {
  Decoded out;
  auto sink = [&out](std::string_view piece) {
    EXPECT_FALSE(piece.empty());
    out.body.append(piece);
    ++out.sink_calls;
  };
  std::vector<size_t> ends = cuts;
  ends.push_back(in.size());
  for (size_t end : ends) {
    if (end < out.consumed) continue;
    out.result = decoder.feed(in.data() + out.consumed, end - out.consumed, sink);
    out.consumed += out.result.consumed;
    if (out.result.status != BodyStatus::kNeedMore) break;
    // While more is needed, everything offered is consumed: the caller buffers nothing.
    EXPECT_EQ(out.consumed, end);
  }
  out.result.consumed = out.consumed;
  return out;
}

Decoded decode_whole(BodyDecoder decoder, std::string_view in) {
  return decode_cuts(decoder, in, {});
}

Decoded decode_bytewise(BodyDecoder decoder, std::string_view in) {
  std::vector<size_t> cuts;
  for (size_t i = 0; i <= in.size(); ++i) cuts.push_back(i);
  return decode_cuts(decoder, in, cuts);
}

BodyDecoder chunked(uint64_t max_body = kDefaultMaxBody, size_t max_trailer = 8192) {
  return BodyDecoder(BodyFraming::kChunked, 0, BodyConfig{max_body, max_trailer});
}

// ---------------------------------------------------------------------------------------------
// Content-Length.

TEST(HttpBody, ContentLengthStopsAtTheEndOfTheBody) {
  const std::string in = "helloGET / HTTP/1.1\r\n";
  const Decoded d = decode_whole(BodyDecoder(BodyFraming::kContentLength, 5), in);
  EXPECT_EQ(d.result.status, BodyStatus::kDone);
  EXPECT_EQ(d.result.consumed, 5u);
  EXPECT_EQ(d.body, "hello");
  EXPECT_EQ(d.sink_calls, 1u);
}

TEST(HttpBody, ContentLengthBytewise) {
  BodyDecoder decoder(BodyFraming::kContentLength, 5);
  const Decoded d = decode_bytewise(decoder, "hello!");
  EXPECT_EQ(d.result.status, BodyStatus::kDone);
  EXPECT_EQ(d.result.consumed, 5u);
  EXPECT_EQ(d.body, "hello");
}

TEST(HttpBody, ContentLengthNeedsMore) {
  BodyDecoder decoder(BodyFraming::kContentLength, 10);
  const BodyResult r = decoder.feed("abc", 3, [](std::string_view) {});
  EXPECT_EQ(r.status, BodyStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 3u);
  EXPECT_EQ(decoder.body_bytes(), 3u);
  EXPECT_FALSE(decoder.done());
}

TEST(HttpBody, EmptyBodiesAreDoneImmediately) {
  for (BodyDecoder decoder : {BodyDecoder(), BodyDecoder(BodyFraming::kNone, 0),
                              BodyDecoder(BodyFraming::kContentLength, 0)}) {
    EXPECT_TRUE(decoder.done());
    const BodyResult r = decoder.feed("GET", 3, [](std::string_view) { FAIL(); });
    EXPECT_EQ(r.status, BodyStatus::kDone);
    EXPECT_EQ(r.consumed, 0u);
  }
}

TEST(HttpBody, ContentLengthAboveMaxIs413) {
  BodyDecoder at_max(BodyFraming::kContentLength, 100, BodyConfig{100});
  EXPECT_FALSE(at_max.failed());
  BodyDecoder decoder(BodyFraming::kContentLength, 101, BodyConfig{100});
  EXPECT_TRUE(decoder.failed());  // known before any body byte arrives
  EXPECT_EQ(decoder.error_status(), kStatusContentTooLarge);
  const BodyResult r = decoder.feed("x", 1, [](std::string_view) { FAIL(); });
  EXPECT_EQ(r.status, BodyStatus::kError);
  EXPECT_EQ(r.http_status, kStatusContentTooLarge);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(r.consumed, 0u);
  // Default limit is 1 MiB.
  EXPECT_TRUE(BodyDecoder(BodyFraming::kContentLength, (1u << 20) + 1).failed());
  EXPECT_FALSE(BodyDecoder(BodyFraming::kContentLength, 1u << 20).failed());
}

TEST(HttpBody, ConstructedFromRequest) {
  Request req;
  req.framing = BodyFraming::kContentLength;
  req.content_length = 2;
  const Decoded d = decode_whole(BodyDecoder(req), "hi");
  EXPECT_EQ(d.result.status, BodyStatus::kDone);
  EXPECT_EQ(d.body, "hi");
}

// ---------------------------------------------------------------------------------------------
// Chunked: valid bodies.

struct ValidChunked {
  std::string in;
  std::string body;
};

std::vector<ValidChunked> valid_chunked() {
  return {
      {"0\r\n\r\n", ""},
      {"5\r\nhello\r\n0\r\n\r\n", "hello"},
      {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
      {"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij"},
      {"0005\r\nhello\r\n000\r\n\r\n", "hello"},
      {"5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello"},
      {"5;a=\"quoted; \\\" value\";b\r\nhello\r\n0\r\n\r\n", "hello"},
      {"5 ;a\r\nhello\r\n0\t; b = c\r\n\r\n", "hello"},  // BWS before ";"
      {"5;\xc3\xa9\r\nhello\r\n0\r\n\r\n", "hello"},     // obs-text in an extension
      {"3\r\n\r\n\0\r\n0\r\n\r\n"s, "\r\n\0"s},          // data is opaque
      {"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:  abc \t\r\n\r\n", "hello"},
      {"5\r\nhello\r\n0\r\nX-Empty:\r\n\r\n", "hello"},
  };
}

TEST(HttpBody, ChunkedValidBodies) {
  for (const ValidChunked& c : valid_chunked()) {
    const std::string in = c.in + "NEXT";  // a pipelined request must not be consumed
    const Decoded d = decode_whole(chunked(), in);
    EXPECT_EQ(d.result.status, BodyStatus::kDone) << c.in;
    EXPECT_EQ(d.result.consumed, c.in.size()) << c.in;
    EXPECT_EQ(d.body, c.body) << c.in;
  }
}

TEST(HttpBody, ChunkedBodyBytesAreViewsIntoTheInput) {
  const std::string in = "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n";
  BodyDecoder decoder = chunked();
  std::vector<std::string_view> pieces;
  const BodyResult r =
      decoder.feed(in.data(), in.size(), [&](std::string_view p) { pieces.push_back(p); });
  EXPECT_EQ(r.status, BodyStatus::kDone);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].data(), in.data() + 3);
  EXPECT_EQ(pieces[1].data(), in.data() + 13);
  EXPECT_EQ(decoder.body_bytes(), 8u);
}

TEST(HttpBody, FeedAfterDoneConsumesNothing) {
  BodyDecoder decoder = chunked();
  const std::string in = "0\r\n\r\n";
  ASSERT_EQ(decoder.feed(in.data(), in.size(), [](std::string_view) {}).status, BodyStatus::kDone);
  const BodyResult r = decoder.feed("1\r\n", 3, [](std::string_view) { FAIL(); });
  EXPECT_EQ(r.status, BodyStatus::kDone);
  EXPECT_EQ(r.consumed, 0u);
}

// ---------------------------------------------------------------------------------------------
// Chunked: errors.

struct BadChunked {
  std::string_view name;
  std::string in;
  uint16_t status;
};

std::vector<BadChunked> bad_chunked() {
  return {
      {"empty size", "\r\nhello\r\n0\r\n\r\n", 400},
      {"non-hex size", "g\r\n", 400},
      {"0x prefix", "0x5\r\nhello\r\n", 400},
      {"sign", "+5\r\nhello\r\n", 400},
      {"size then SP without extension", "5 \r\nhello\r\n", 400},
      {"SP before size", " 5\r\nhello\r\n", 400},
      {"size overflow 2^64", "10000000000000000\r\n", 400},
      {"size above 2^62", "4000000000000001\r\n", 400},
      {"bare LF after size", "5\nhello\r\n", 400},
      {"bare CR after size", "5\rhello\r\n", 400},
      {"CTL in extension", "5;a\x01\r\nhello\r\n", 400},
      {"DEL in extension", "5;a\x7f\r\nhello\r\n", 400},
      {"bare LF in extension", "5;a\nhello\r\n", 400},
      {"bare CR in extension", "5;a\rb\r\nhello\r\n", 400},
      {"data longer than size", "5\r\nhello!\r\n0\r\n\r\n", 400},
      {"LF only after data", "5\r\nhello\n0\r\n\r\n", 400},
      {"CR without LF after data", "5\r\nhello\rX0\r\n\r\n", 400},
      {"bare LF as final line", "0\r\n\n", 400},
      {"final CR without LF", "0\r\n\rX", 400},
      {"trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n", 400},
      {"trailer leading SP", "0\r\n A: b\r\n\r\n", 400},
      {"trailer empty name", "0\r\n: b\r\n\r\n", 400},
      {"trailer SP before colon", "0\r\nA : b\r\n\r\n", 400},
      {"trailer without colon", "0\r\nAb\r\n\r\n", 400},
      {"trailer NUL", "0\r\nA: b\0c\r\n\r\n"s, 400},
      {"trailer bare CR", "0\r\nA: b\rc\r\n\r\n", 400},
      {"trailer bare LF", "0\r\nA: b\n\r\n", 400},
      {"trailer CR CR LF", "0\r\nA: b\r\r\n\r\n", 400},
      {"chunk line too long", "5;" + std::string(kMaxChunkLineBytes, 'x') + "\r\n", 400},
      {"leading zeros too long", std::string(kMaxChunkLineBytes + 1, '0') + "5\r\n", 400},
      {"chunk above max", "100001\r\n", 413},         // 1 MiB + 1 in one chunk
      {"exactly 2^62", "4000000000000000\r\n", 413},  // not malformed, just too large
  };
}

TEST(HttpBody, ChunkedErrorsHaveExactStatus) {
  for (const BadChunked& c : bad_chunked()) {
    const Decoded d = decode_whole(chunked(), c.in);
    EXPECT_EQ(d.result.status, BodyStatus::kError) << c.name;
    EXPECT_EQ(d.result.http_status, c.status) << c.name;
    EXPECT_TRUE(d.result.close) << c.name;
  }
}

TEST(HttpBody, ErrorsAreSticky) {
  BodyDecoder decoder = chunked();
  ASSERT_EQ(decoder.feed("g\r\n", 3, [](std::string_view) {}).status, BodyStatus::kError);
  const BodyResult r = decoder.feed("0\r\n\r\n", 5, [](std::string_view) { FAIL(); });
  EXPECT_EQ(r.status, BodyStatus::kError);
  EXPECT_EQ(r.http_status, kStatusBadRequest);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_TRUE(decoder.failed());
}

TEST(HttpBody, ChunkedGrowthAboveMaxIs413) {
  // 6 + 4 = 10 bytes fits a limit of 10, 6 + 5 does not; the 413 comes at the offending size,
  // before its data is read.
  Decoded ok = decode_whole(chunked(10), "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n");
  EXPECT_EQ(ok.result.status, BodyStatus::kDone);
  EXPECT_EQ(ok.body, "abcdefghij");
  Decoded d = decode_whole(chunked(10), "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n");
  EXPECT_EQ(d.result.status, BodyStatus::kError);
  EXPECT_EQ(d.result.http_status, kStatusContentTooLarge);
  EXPECT_TRUE(d.result.close);
  EXPECT_EQ(d.body, "abcdef");
  EXPECT_EQ(d.result.consumed, 12u);  // stopped at the terminator of "5"
}

TEST(HttpBody, TrailerSectionLimitIs431) {
  const std::string trailer = "X: " + std::string(100, 'v') + "\r\n";
  Decoded ok = decode_whole(chunked(kDefaultMaxBody, 256), "0\r\n" + trailer + trailer + "\r\n");
  EXPECT_EQ(ok.result.status, BodyStatus::kDone);
  Decoded d =
      decode_whole(chunked(kDefaultMaxBody, 256), "0\r\n" + trailer + trailer + trailer + "\r\n");
  EXPECT_EQ(d.result.status, BodyStatus::kError);
  EXPECT_EQ(d.result.http_status, kStatusRequestHeaderFieldsTooLarge);
  EXPECT_TRUE(d.result.close);
}

// ---------------------------------------------------------------------------------------------
// Split independence.

void expect_split_independent(const std::string& in, uint64_t max_body = kDefaultMaxBody) {
  const Decoded whole = decode_whole(chunked(max_body), in);
  auto same = [&](const Decoded& d) {
    return d.result.status == whole.result.status &&
           d.result.http_status == whole.result.http_status && d.body == whole.body &&
           (d.result.status == BodyStatus::kError || d.result.consumed == whole.result.consumed);
  };
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    const Decoded d = decode_cuts(chunked(max_body), in, {cut});
    EXPECT_TRUE(same(d)) << "cut " << cut << " of " << in;
  }
  EXPECT_TRUE(same(decode_bytewise(chunked(max_body), in))) << "bytewise " << in;
}

TEST(HttpBody, ChunkedSplitAtEveryOffsetDecodesTheSame) {
  for (const ValidChunked& c : valid_chunked()) expect_split_independent(c.in + "GET /");
  for (const BadChunked& c : bad_chunked()) expect_split_independent(c.in);
  expect_split_independent("6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n", 10);
}

TEST(HttpBody, LargeChunkedBodyBytewise) {
  std::string in;
  std::string expected;
  for (int i = 1; i <= 40; ++i) {
    const std::string data(static_cast<size_t>(i * 7), static_cast<char>('a' + i % 26));
    char size[16];
    std::snprintf(size, sizeof size, "%x", static_cast<unsigned>(data.size()));
    in += std::string(size) + (i % 2 ? ";e=1" : "") + "\r\n" + data + "\r\n";
    expected += data;
  }
  in += "0\r\nT: 1\r\n\r\n";
  const Decoded d = decode_bytewise(chunked(), in);
  EXPECT_EQ(d.result.status, BodyStatus::kDone);
  EXPECT_EQ(d.result.consumed, in.size());
  EXPECT_EQ(d.body, expected);
}

}  // namespace
}  // namespace reactord::http
