// reactord-bench against reactord, as a wrk user would call it: a URL, -c, --requests; a
// non-2xx result is said in words on stderr (and fails the exit status); POST with a body.
#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace {

class BenchHttp : public testing::Test {
 protected:
  void SetUp() override { RT_START_REACTORD(server_, {.args = {"--listen", "http=127.0.0.1:0"}}); }
  std::string url(const std::string& path) {
    return "http://" + server_.address("http").to_string() + path;
  }
  rt::RunResult bench(std::vector<std::string> args) {
    args.insert(args.begin(), REACTORD_BENCH_BIN);
    return rt::run_process(args, "", 60000);
  }
  rt::Reactord server_;
};

TEST_F(BenchHttp, NotFoundIsReportedInWords) {
  rt::RunResult r = bench({"-c", "2", "--requests", "20", url("/nope")});
  EXPECT_EQ(r.exit_code(), 1) << r.err;
  EXPECT_NE(r.err.find("reactord-bench: 20 of 20 HTTP responses were not 2xx (404: 20)\n"),
            std::string::npos)
      << r.err;
}

TEST_F(BenchHttp, CleanRunSaysNothingOfStatuses) {
  rt::RunResult r = bench({"-c", "2", "-t", "1", "--requests", "20", url("/plaintext")});
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_EQ(r.err.find("not 2xx"), std::string::npos) << r.err;
}

TEST_F(BenchHttp, PostWithABody) {
  rt::RunResult r = bench({"-c", "1", "--requests", "10", "--method", "POST", "--header",
                           "Content-Type: text/plain", "--body", "hello", url("/echo")});
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  rt::RunResult get = bench({"-c", "1", "--requests", "10", url("/echo")});  // GET: 405
  EXPECT_NE(get.err.find("10 of 10 HTTP responses were not 2xx (405: 10)"), std::string::npos)
      << get.err;
}

}  // namespace
