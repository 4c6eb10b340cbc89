// reactord-bench's HTTP response parser: framing by Content-Length, chunked, close; any split.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/loadgen/http_response_parser.h"

namespace reactord::bench {
namespace {

struct Parsed {
  std::vector<int> statuses;
  std::vector<bool> keep_alive;
  bool failed = false;
  std::string error;
};

// Feeds `wire` in pieces of `chunk` bytes (0 = all at once), collecting complete responses.
Parsed parse(const std::string& wire, size_t chunk = 0, bool eof = false) {
  HttpResponseParser p;
  Parsed out;
  size_t pos = 0;
  while (pos < wire.size()) {
    size_t n = chunk == 0 ? wire.size() - pos : std::min(chunk, wire.size() - pos);
    const char* data = wire.data() + pos;
    pos += n;
    while (n > 0) {
      size_t used = p.feed(data, n);
      data += used;
      n -= used;
      if (p.failed()) {
        out.failed = true;
        out.error = p.error();
        return out;
      }
      if (p.done()) {
        out.statuses.push_back(p.status());
        out.keep_alive.push_back(p.keep_alive());
        p.next();
      }
    }
  }
  if (eof) {
    if (p.on_eof()) {
      out.statuses.push_back(p.status());
      out.keep_alive.push_back(p.keep_alive());
    } else if (p.failed()) {
      out.failed = true;
      out.error = p.error();
    }
  }
  return out;
}

const std::string kNginx =
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 25 Nov 2025 08:00:00 GMT\r\n"
    "Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\n"
    "Hello, World!";

const std::string kChunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nHello\r\n"
    "8;ext=1\r\n, World!\r\n"
    "0\r\nX-Trailer: yes\r\n\r\n";

TEST(BenchHttpResponse, ContentLength) {
  Parsed r = parse(kNginx);
  ASSERT_FALSE(r.failed) << r.error;
  ASSERT_EQ(r.statuses, std::vector<int>{200});
  EXPECT_TRUE(r.keep_alive[0]);
}

TEST(BenchHttpResponse, PipelinedResponsesInOneRead) {
  std::string wire;
  for (int i = 0; i < 16; ++i) wire += (i % 2) ? kChunked : kNginx;
  Parsed r = parse(wire);
  ASSERT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.statuses.size(), 16u);
}

TEST(BenchHttpResponse, ChunkedWithExtensionsAndTrailers) {
  Parsed r = parse(kChunked);
  ASSERT_FALSE(r.failed) << r.error;
  ASSERT_EQ(r.statuses, std::vector<int>{200});
}

// Every split point of two back-to-back responses must give the same result.
TEST(BenchHttpResponse, AnySplitGivesSameResult) {
  std::string wire = kChunked + kNginx + kChunked;
  for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    Parsed r = parse(wire, chunk);
    ASSERT_FALSE(r.failed) << "chunk " << chunk << ": " << r.error;
    ASSERT_EQ(r.statuses.size(), 3u) << "chunk " << chunk;
  }
}

TEST(BenchHttpResponse, LargeChunksSkippedNotBuffered) {
  std::string body(100000, 'x');
  char size[32];
  snprintf(size, sizeof size, "%zx", body.size());
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) +
                     "\r\n" + body + "\r\n0\r\n\r\n";
  Parsed r = parse(wire, 1000);
  ASSERT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.statuses.size(), 1u);
}

TEST(BenchHttpResponse, StatusCodesAndNoBodyStatuses) {
  Parsed r = parse(
      "HTTP/1.1 204 No Content\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"
      "HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n");
  ASSERT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.statuses, (std::vector<int>{204, 304, 404, 503}));
}

TEST(BenchHttpResponse, InterimResponseIsSkipped) {
  Parsed r = parse("HTTP/1.1 100 Continue\r\n\r\n" + kNginx);
  ASSERT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.statuses, std::vector<int>{200});
}

TEST(BenchHttpResponse, ConnectionCloseAndHttp10) {
  Parsed r = parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.statuses.size(), 1u);
  EXPECT_FALSE(r.keep_alive[0]);
  r = parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.statuses.size(), 1u);
  EXPECT_FALSE(r.keep_alive[0]);
  r = parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.statuses.size(), 1u);
  EXPECT_TRUE(r.keep_alive[0]);
}

TEST(BenchHttpResponse, BodyUntilCloseCompletesAtEof) {
  Parsed r = parse("HTTP/1.1 200 OK\r\n\r\nwhatever comes", 3, /*eof=*/true);
  ASSERT_FALSE(r.failed) << r.error;
  ASSERT_EQ(r.statuses, std::vector<int>{200});
  EXPECT_FALSE(r.keep_alive[0]);
}

TEST(BenchHttpResponse, CloseMidResponseFails) {
  Parsed r = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, /*eof=*/true);
  EXPECT_TRUE(r.failed);
  r = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 0, true);
  EXPECT_TRUE(r.failed);
}

TEST(BenchHttpResponse, MalformedInputFails) {
  EXPECT_TRUE(parse("HTTP/2 200 OK\r\n\r\n").failed);
  EXPECT_TRUE(parse("HTTP/1.1 2x0 OK\r\n\r\n").failed);
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n").failed);
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").failed);
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").failed);
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n").failed);
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nBad Header : x\r\n\r\n").failed);
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'a') + "\r\n\r\n", 4096).failed);
}

TEST(BenchHttpResponse, TransferEncodingOverridesContentLength) {
  Parsed r = parse(
      "HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n" +
      kNginx);
  ASSERT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.statuses.size(), 2u);
}

TEST(BenchHttpResponse, BareLfLineEndingsAccepted) {
  Parsed r = parse("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
  ASSERT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.statuses, std::vector<int>{200});
}

}  // namespace
}  // namespace reactord::bench
