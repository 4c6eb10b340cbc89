// HTTP/1.1 pipelining against reactord, per backend: 100 mixed requests in one write and split
// at random byte boundaries, answered in order and byte-exact (Date aside); close mid-pipeline.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <random>
#include <string>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/payload.h"

namespace {

using ht::Client;
using ht::Response;

struct Req {
  std::string bytes;
  bool head = false;
  int code = 200;
  std::string body;  // the expected response body (checked on its own as well)
};

// A seeded mix of every endpoint, bodies included.
std::vector<Req> make_mix(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Req> out;
  for (size_t i = 0; i < n; ++i) {
    Req r;
    switch (rng() % 9) {
      case 0:
        r.bytes = ht::get("/plaintext");
        r.body = "Hello, World!";
        break;
      case 1:
        r.bytes = ht::get("/json");
        r.body = "{\"message\":\"Hello, World!\"}";
        break;
      case 2:
        r.bytes = ht::get("/health");
        r.body = "ok\n";
        break;
      case 3: {
        r.body = rt::random_bytes(rng() % 3000, rng());
        r.bytes = ht::post("/echo", r.body);
        break;
      }
      case 4: {
        r.body = rt::random_bytes(1 + rng() % 3000, rng());
        r.bytes = ht::post_chunked("/echo", r.body, {1 + rng() % 700, 1 + rng() % 50});
        break;
      }
      case 5:
        r.bytes = ht::head("/plaintext");
        r.head = true;
        break;
      case 6:
        r.bytes = ht::get("/nope/" + std::to_string(i));
        r.code = 404;
        r.body = "not found\n";
        break;
      case 7:
        r.bytes = ht::post("/json", "ignored body");
        r.code = 405;
        r.body = "method not allowed\n";
        break;
      default:
        r.bytes = ht::get("/plaintext?i=" + std::to_string(i), "Accept: */*\r\n");
        r.body = "Hello, World!";
        break;
    }
    out.push_back(std::move(r));
  }
  return out;
}

class HttpPipeline : public ht::HttpServerTest {
 protected:
  // The same requests one at a time on their own connection: what each answer must look like.
  std::vector<Response> serial(const std::vector<Req>& reqs) {
    std::vector<Response> out;
    Client c(addr());
    EXPECT_TRUE(c.ok()) << c.error();
    for (const Req& r : reqs) {
      ht::ReadResult rr = c.roundtrip(r.bytes, r.head);
      EXPECT_TRUE(rr.ok) << rr.error;
      if (!rr.ok) break;
      out.push_back(std::move(rr.response));
    }
    return out;
  }

  void compare(const std::vector<Req>& reqs, const std::vector<Response>& expect,
               const std::vector<Response>& got) {
    ASSERT_EQ(got.size(), reqs.size());
    ASSERT_EQ(expect.size(), reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
      SCOPED_TRACE("response #" + std::to_string(i) + " to " + ht::printable(reqs[i].bytes, 50));
      const Response& g = got[i];
      EXPECT_EQ(g.code, reqs[i].code) << g.status_line;
      if (!reqs[i].head) {
        if (reqs[i].code == 200 && reqs[i].bytes.starts_with("GET /health")) {
          EXPECT_TRUE(g.body == "ok" || g.body == "ok\n");
        } else if (reqs[i].code == 200) {
          EXPECT_TRUE(g.body == reqs[i].body) << "body differs";
        }
      } else {
        EXPECT_EQ(g.raw.size(), g.head_size) << "HEAD answered with a body";
      }
      EXPECT_FALSE(g.says_close());
      // Byte-exact against the serial answer, the Date value aside. A chunked echo's chunk
      // boundaries follow the server's reads, so there the head and the decoded body count.
      if (expect[i].chunked) {
        EXPECT_TRUE(g.chunked);
        EXPECT_EQ(g.normalized_head(), expect[i].normalized_head());
        EXPECT_TRUE(g.body == expect[i].body) << "chunked body differs";
      } else {
        EXPECT_TRUE(g.normalized() == expect[i].normalized())
            << "got " << ht::printable(g.normalized(), 300) << "\nwant "
            << ht::printable(expect[i].normalized(), 300);
      }
    }
  }

  static std::vector<bool> head_flags(const std::vector<Req>& reqs) {
    std::vector<bool> f;
    for (const Req& r : reqs) f.push_back(r.head);
    return f;
  }
  static std::string concat(const std::vector<Req>& reqs) {
    std::string all;
    for (const Req& r : reqs) all += r.bytes;
    return all;
  }
};

TEST_P(HttpPipeline, HundredRequestsInOneWrite) {
  if (!start()) return;
  std::vector<Req> reqs = make_mix(100, 1);
  std::vector<Response> expect = serial(reqs);
  ASSERT_EQ(expect.size(), reqs.size());
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  std::vector<Response> got;
  std::string err;
  ASSERT_TRUE(c.transact(concat(reqs), reqs.size(), head_flags(reqs), &got, &err)) << err;
  compare(reqs, expect, got);
  EXPECT_EQ(c.pending(), "") << "bytes beyond the 100 responses";
  // The connection is still good afterwards.
  ht::ReadResult r = c.roundtrip(ht::get("/plaintext"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.body, "Hello, World!");
}

TEST_P(HttpPipeline, BurstSplitAtRandomBoundaries) {
  if (!start()) return;
  for (uint64_t seed : {2, 3, 4}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Req> reqs = make_mix(100, seed);
    std::vector<Response> expect = serial(reqs);
    ASSERT_EQ(expect.size(), reqs.size());
    Client c(addr());
    ASSERT_TRUE(c.ok()) << c.error();
    c.set_nodelay();
    std::string all = concat(reqs);
    std::mt19937_64 rng(seed * 1000);
    size_t writes = 0;
    for (size_t off = 0; off < all.size();) {
      // Mostly tiny pieces (splitting request lines, CRLFs and chunk sizes), some larger.
      size_t n = rng() % 4 == 0 ? 1 + rng() % 2000 : 1 + rng() % 40;
      n = std::min(n, all.size() - off);
      ASSERT_TRUE(c.send(std::string_view(all).substr(off, n))) << c.error();
      off += n;
      ++writes;
      if (rng() % 8 == 0) rt::sleep_ms(1);  // let some pieces arrive as their own segments
      bool eof = false;
      c.poll_in(0, &eof);
      ASSERT_FALSE(eof) << "server closed mid-pipeline";
    }
    std::vector<Response> got;
    std::string err;
    ASSERT_TRUE(c.read_responses(reqs.size(), &got, &err, head_flags(reqs), 30000)) << err;
    compare(reqs, expect, got);
    EXPECT_EQ(c.pending(), "");
    EXPECT_GT(writes, 100u);
  }
}

// Big echo bodies pipelined: more reply bytes than the server's write high-water mark, so
// reading pauses and resumes mid-pipeline; every reply still arrives whole and in order.
TEST_P(HttpPipeline, LargeEchoBodiesWithBackpressure) {
  if (!start()) return;
  std::vector<Req> reqs;
  for (size_t i = 0; i < 24; ++i) {
    Req r;
    r.body = rt::random_bytes(100'000 + i * 1000, 100 + i);
    r.bytes = i % 2 ? ht::post_chunked("/echo", r.body, {30'000}) : ht::post("/echo", r.body);
    reqs.push_back(std::move(r));
  }
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  std::vector<Response> got;
  std::string err;
  ASSERT_TRUE(c.transact(concat(reqs), reqs.size(), head_flags(reqs), &got, &err, 60000)) << err;
  for (size_t i = 0; i < reqs.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].status_line, "HTTP/1.1 200 OK");
    // Chunked request bodies are collected and echoed whole: every reply has a length.
    EXPECT_EQ(got[i].header("Content-Length").value_or(""), std::to_string(reqs[i].body.size()));
    EXPECT_TRUE(got[i].body == reqs[i].body) << "echo #" << i << " differs";
  }
}

// Connection: close in the middle of a pipeline: that request is the last one answered.
TEST_P(HttpPipeline, CloseMidPipelineStopsThere) {
  if (!start()) return;
  std::string all;
  for (int i = 0; i < 5; ++i) all += ht::get("/plaintext");
  all += ht::get("/json", "Connection: close\r\n");
  for (int i = 0; i < 5; ++i) all += ht::get("/plaintext");
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  std::vector<Response> got;
  std::string err;
  ASSERT_TRUE(c.transact(all, 6, {}, &got, &err)) << err;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i].body, "Hello, World!");
  EXPECT_EQ(got[5].body, "{\"message\":\"Hello, World!\"}");
  EXPECT_TRUE(got[5].says_close());
  ht::EofResult e = c.read_eof(10000);
  EXPECT_TRUE(e.eof) << e.error;
  EXPECT_EQ(e.extra, "") << "requests after Connection: close were answered";
}

// The client half-closes right after its pipelined requests: every one is still answered,
// then the server closes.
TEST_P(HttpPipeline, HalfCloseAfterPipelineStillAnswered) {
  if (!start()) return;
  std::vector<Req> reqs = make_mix(30, 9);
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c.send(concat(reqs)));
  ::shutdown(c.fd(), SHUT_WR);
  std::vector<Response> got;
  std::string err;
  ASSERT_TRUE(c.read_responses(reqs.size(), &got, &err, head_flags(reqs))) << err;
  for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(got[i].code, reqs[i].code) << i;
  ht::EofResult e = c.read_eof(10000);
  EXPECT_TRUE(e.eof) << e.error;
  EXPECT_EQ(e.extra, "");
}

INSTANTIATE_TEST_SUITE_P(Backends, HttpPipeline, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
