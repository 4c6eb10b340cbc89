// Real HTTP clients against reactord, per backend: curl (plaintext, binary echo, chunked,
// 100-continue) and a short wrk run; each test skips when its tool is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/payload.h"

namespace {

// Absolute path of `tool` on PATH, or "".
std::string which(const std::string& tool) {
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t colon = p.find(':', start);
    std::string dir =
        p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) {
      std::string full = dir + "/" + tool;
      if (access(full.c_str(), X_OK) == 0) return full;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

class HttpTools : public ht::HttpServerTest {
 protected:
  std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_.port("http")) + path;
  }
};

TEST_P(HttpTools, CurlPlaintextAndJson) {
  std::string curl = which("curl");
  if (curl.empty()) GTEST_SKIP() << "curl not installed";
  if (!start()) return;
  rt::RunResult r = rt::run_process({curl, "-s", "-i", "--max-time", "20", url("/plaintext")});
  ASSERT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("HTTP/1.1 200 OK\r\n")) << ht::printable(r.out);
  EXPECT_TRUE(r.out.ends_with("\r\n\r\nHello, World!")) << ht::printable(r.out);
  // Two URLs on one connection (curl reuses it: keep-alive), body only.
  r = rt::run_process({curl, "-s", "--max-time", "20", url("/json"), url("/plaintext")});
  ASSERT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "{\"message\":\"Hello, World!\"}Hello, World!");
  // HEAD.
  r = rt::run_process({curl, "-s", "-I", "--max-time", "20", url("/json")});
  ASSERT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("HTTP/1.1 200 OK\r\n")) << ht::printable(r.out);
  EXPECT_NE(r.out.find("Content-Length: 27\r\n"), std::string::npos) << ht::printable(r.out);
}

TEST_P(HttpTools, CurlEchoBinaryExact) {
  std::string curl = which("curl");
  if (curl.empty()) GTEST_SKIP() << "curl not installed";
  if (!start()) return;
  rt::TempDir dir;
  // Small (sent at once) and large (curl asks Expect: 100-continue first), every byte value.
  for (size_t size : {size_t{1}, size_t{1000}, size_t{300'000}, size_t{1} << 20}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string body = rt::random_bytes(size, size);
    std::string file = dir.file("body-" + std::to_string(size));
    std::ofstream(file, std::ios::binary) << body;
    rt::RunResult r = rt::run_process(
        {curl, "-s", "--max-time", "30", "--data-binary", "@" + file, url("/echo")}, "", 40000);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out.size(), body.size());
    EXPECT_TRUE(r.out == body) << "curl --data-binary echo differs";
    // The same body as a chunked upload.
    r = rt::run_process({curl, "-s", "--max-time", "30", "-H", "Transfer-Encoding: chunked",
                         "--data-binary", "@" + file, url("/echo")},
                        "", 40000);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_TRUE(r.out == body) << "curl chunked echo differs";
  }
  // Over the limit: curl sees 413.
  std::string big = dir.file("big");
  std::ofstream(big, std::ios::binary) << std::string((1 << 20) + 1, 'z');
  rt::RunResult r = rt::run_process({curl, "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                     "--max-time", "30", "--data-binary", "@" + big, url("/echo")},
                                    "", 40000);
  EXPECT_EQ(r.out, "413") << r.err;
}

TEST_P(HttpTools, WrkPlaintextNoErrors) {
  std::string wrk = which("wrk");
  if (wrk.empty()) GTEST_SKIP() << "wrk not installed";
  if (!start()) return;
  rt::RunResult r = rt::run_process(
      {wrk, "-t1", "-c10", "-d2s", "--timeout", "5s", url("/plaintext")}, "", 60000);
  ASSERT_FALSE(r.timed_out) << "wrk did not finish";
  ASSERT_EQ(r.exit_code(), 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("Socket errors"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Non-2xx or 3xx responses"), std::string::npos) << r.out;
  // "  12345 requests in 2.00s, ..."
  size_t at = r.out.find(" requests in ");
  ASSERT_NE(at, std::string::npos) << r.out;
  size_t digits = r.out.find_last_not_of("0123456789", at - 1) + 1;
  ASSERT_LT(digits, at) << r.out;
  const uint64_t requests = std::stoull(r.out.substr(digits, at - digits));
  EXPECT_GT(requests, 0u) << r.out;
  // The server is fine afterwards and counted what it answered.
  ht::Metrics mx = ht::scrape(addr());
  EXPECT_GE(ht::value(mx, ht::responses_key(200)), static_cast<double>(requests));
  EXPECT_TRUE(server_.child().running());
}

INSTANTIATE_TEST_SUITE_P(Backends, HttpTools, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
