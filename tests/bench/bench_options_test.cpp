// reactord-bench's flags: defaults, both value forms, and one clear error per bad flag.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "bench/loadgen/options.h"

namespace reactord::bench {
namespace {

ParseOutcome parse(std::vector<std::string> args, Options* o) {
  args.insert(args.begin(), "reactord-bench");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), o);
}

TEST(BenchOptions, DefaultsAndForms) {
  Options o;
  ParseOutcome r = parse({"--target", "127.0.0.1:80", "--proto=http", "--path", "/plaintext",
                          "--conns=100", "--pipeline", "16", "--size", "4k"},
                         &o);
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(o.proto, Proto::kHttp);
  EXPECT_EQ(o.path, "/plaintext");
  EXPECT_EQ(o.conns, 100);
  EXPECT_EQ(o.pipeline, 16);
  EXPECT_EQ(o.size, 4096u);
  EXPECT_EQ(o.threads, 1);
  EXPECT_DOUBLE_EQ(o.duration_s, 10);
  EXPECT_DOUBLE_EQ(o.connect_timeout_s, 5);
  EXPECT_EQ(o.mode(), Mode::kClosed);
}

TEST(BenchOptions, Modes) {
  Options o;
  ASSERT_TRUE(parse({"--target", "unix:/tmp/x.sock", "--rate", "1000"}, &o).run);
  EXPECT_EQ(o.mode(), Mode::kOpen);
  Options c;
  ASSERT_TRUE(parse({"--target", "127.0.0.1:1", "--churn", "--connect-rate", "500"}, &c).run);
  EXPECT_EQ(c.mode(), Mode::kChurn);
  Options r;
  ASSERT_TRUE(parse({"--target", "127.0.0.1:1", "--ramp", "10:10:50"}, &r).run);
  EXPECT_TRUE(r.ramp);
  EXPECT_EQ(r.conns, 10);
  EXPECT_EQ(r.ramp_end, 50);
}

TEST(BenchOptions, BadFlagsExit2NamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    const char* flag;
  } cases[] = {
      {{"--proto", "echo"}, "--target"},
      {{"--target", "nowhere"}, "--target"},
      {{"--target", "127.0.0.1:1", "--proto", "ftp"}, "--proto"},
      {{"--target", "127.0.0.1:1", "--conns", "0"}, "--conns"},
      {{"--target", "127.0.0.1:1", "--conns", "12x"}, "--conns"},
      {{"--target", "127.0.0.1:1", "--duration", "-1"}, "--duration"},
      {{"--target", "127.0.0.1:1", "--size", "1q"}, "--size"},
      {{"--target", "127.0.0.1:1", "--ramp", "5:1:2"}, "--ramp"},
      {{"--target", "127.0.0.1:1", "--path", "noslash"}, "--path"},
      {{"--target", "127.0.0.1:1", "--bogus"}, "--bogus"},
      {{"--target", "127.0.0.1:1", "--threads"}, "--threads"},
      {{"--target", "127.0.0.1:1", "--churn", "--pipeline", "4"}, "--pipeline"},
      {{"--target", "127.0.0.1:1", "--requests", "5", "--warmup", "1"}, "--warmup"},
  };
  for (const Case& c : cases) {
    Options o;
    ParseOutcome r = parse(c.args, &o);
    EXPECT_FALSE(r.run) << c.flag;
    EXPECT_EQ(r.exit_code, 2) << c.flag;
    EXPECT_NE(r.message.find(c.flag), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find('\n'), std::string::npos) << "one line: " << r.message;
  }
}

// Requests queued by one worker must fit in its loop's buffers: 16 MiB x 64 in flight on one
// connection would make the client refuse its own buffers (or close its own connections) and
// then report the aborts as server resets. Refused up front, naming the flags.
TEST(BenchOptions, InFlightBeyondTheClientBuffersIsRefused) {
  const std::vector<std::vector<std::string>> too_much = {
      {"--size", "16m", "--pipeline", "64"},
      {"--size", "64m"},  // 10 connections (the default) on one thread
      {"--size", "1m", "--pipeline", "16", "--conns", "100", "--threads", "2"},
      {"--size", "1m", "--ramp", "1:10:200"},  // the last step counts
  };
  for (auto args : too_much) {
    args.insert(args.begin(), {"--target", "127.0.0.1:1"});
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    Options o;
    ParseOutcome r = parse(args, &o);
    EXPECT_FALSE(r.run) << joined;
    EXPECT_EQ(r.exit_code, 2) << joined;
    for (const char* flag : {"--size", "--pipeline", "--conns", "--threads"})
      EXPECT_NE(r.message.find(flag), std::string::npos) << joined << "-> " << r.message;
    EXPECT_EQ(r.message.find('\n'), std::string::npos) << "one line: " << r.message;
  }
  // The same load spread so that each thread's share fits is fine, and so is the limit itself.
  const uint64_t room = loop_buffer_bytes() / 2;
  const std::vector<std::vector<std::string>> fine = {
      {"--size", std::to_string(room / 10), "--conns", "10"},
      {"--size", "16m", "--pipeline", "64", "--proto", "http"},  // --size means nothing there
      {"--size", "64k", "--pipeline", "16", "--conns", "10"},
  };
  Options spread;
  ASSERT_TRUE(parse({"--target", "127.0.0.1:1", "--size", "1m", "--pipeline", "4", "--conns", "10",
                     "--threads", "5"},
                    &spread)
                  .run);
  EXPECT_EQ(queued_bytes_per_thread(spread), 8ull << 20);
  for (auto args : fine) {
    args.insert(args.begin(), {"--target", "127.0.0.1:1"});
    Options o;
    ParseOutcome r = parse(args, &o);
    EXPECT_TRUE(r.run) << r.message;
  }
}

// wrk's command line works as is: a URL, -c/-d/-t, durations with suffixes.
TEST(BenchOptions, WrkStyle) {
  Options o;
  ParseOutcome r =
      parse({"-c", "100", "-d", "10s", "-t", "2", "http://127.0.0.1:8080/plaintext"}, &o);
  ASSERT_TRUE(r.run) << r.message;
  EXPECT_EQ(o.conns, 100);
  EXPECT_DOUBLE_EQ(o.duration_s, 10);
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.proto, Proto::kHttp);
  EXPECT_EQ(o.path, "/plaintext");
  EXPECT_EQ(o.target_text, "127.0.0.1:8080");
  EXPECT_EQ(o.target.port(), 8080);

  Options bare;
  ASSERT_TRUE(parse({"http://127.0.0.1"}, &bare).run);
  EXPECT_EQ(bare.path, "/");  // the default HTTP path
  EXPECT_EQ(bare.target.port(), 80);
  Options v6;
  ASSERT_TRUE(parse({"http://[::1]:9000/x?y=1"}, &v6).run);
  EXPECT_EQ(v6.target.port(), 9000);
  EXPECT_EQ(v6.path, "/x?y=1");
  Options https;
  ParseOutcome bad = parse({"https://127.0.0.1/"}, &https);
  EXPECT_FALSE(bad.run);
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(BenchOptions, DurationSuffixes) {
  const std::pair<const char*, double> cases[] = {{"10", 10},   {"10s", 10},    {"2m", 120},
                                                  {"1h", 3600}, {"500ms", 0.5}, {"1.5m", 90}};
  for (const auto& [text, seconds] : cases) {
    double d = -1;
    EXPECT_TRUE(parse_duration(text, 0.001, 1e9, &d)) << text;
    EXPECT_DOUBLE_EQ(d, seconds) << text;
  }
  double d;
  for (const char* text : {"", "s", "10x", "-1s", "2mm"})
    EXPECT_FALSE(parse_duration(text, 0.001, 1e9, &d)) << text;
  Options o;
  ASSERT_TRUE(parse({"--target", "127.0.0.1:1", "--duration", "2m", "--warmup", "5s"}, &o).run);
  EXPECT_DOUBLE_EQ(o.duration_s, 120);
  EXPECT_DOUBLE_EQ(o.warmup_s, 5);
}

TEST(BenchOptions, HttpRequestFromMethodHeadersAndBody) {
  Options o;
  ASSERT_TRUE(parse({"http://127.0.0.1:8080/plaintext"}, &o).run);
  EXPECT_EQ(http_request_text(o, "127.0.0.1:8080"),
            "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");  // what wrk sends

  Options p;
  ASSERT_TRUE(parse({"--method", "POST", "--header", "X-A: 1", "-H", "X-B: two", "--body", "hello",
                     "http://127.0.0.1:8080/echo"},
                    &p)
                  .run);
  EXPECT_EQ(http_request_text(p, "h"),
            "POST /echo HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-B: two\r\nContent-Length: 5\r\n\r\n"
            "hello");

  char path[] = "/tmp/bench-body-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "from\nfile", 9), 9);
  close(fd);
  Options f;
  ASSERT_TRUE(parse({"--method", "PUT", "--body-file", path, "http://127.0.0.1/u"}, &f).run);
  unlink(path);
  EXPECT_EQ(f.body, "from\nfile");
  EXPECT_EQ(http_request_text(f, "h"),
            "PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nfrom\nfile");

  for (std::vector<std::string> args : {
           std::vector<std::string>{"--target", "127.0.0.1:1", "--method", "POST"},  // not http
           std::vector<std::string>{"http://127.0.0.1/", "--method", "post"},
           std::vector<std::string>{"http://127.0.0.1/", "--header", "no colon"},
           std::vector<std::string>{"http://127.0.0.1/", "--body-file", "/nonexistent/body"},
       }) {
    Options e;
    ParseOutcome r = parse(args, &e);
    EXPECT_FALSE(r.run) << args[2];
    EXPECT_EQ(r.exit_code, 2) << args[2];
  }
}

TEST(BenchOptions, HelpExits0) {
  Options o;
  ParseOutcome r = parse({"--help"}, &o);
  EXPECT_FALSE(r.run);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.message.find("--target"), std::string::npos);
}

}  // namespace
}  // namespace reactord::bench
