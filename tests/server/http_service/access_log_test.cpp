// --access-log: the line format exactly (unit), then against the binary on each backend: one
// line per response with the right fields, pipelined requests each logged, a bad request as
// "- -", stdout with "-", and SIGUSR1 reopening the file after a rotation.
#include "server/http_service/access_log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/http_client.h"

namespace {

using reactord::AccessRecord;
using reactord::format_access_line;

std::string line_of(const AccessRecord& r, size_t capacity = 512) {
  std::string out(capacity, '\0');
  out.resize(format_access_line(r, timespec{1796082636, 123456789}, out.data(), out.size()));
  return out;
}

TEST(AccessLine, Fields) {
  AccessRecord r{"192.0.2.7:41234", "GET /plaintext?x=1", 200, 142, 57};
  EXPECT_EQ(line_of(r), "2026-11-30T23:50:36.123Z 192.0.2.7:41234 GET /plaintext?x=1 200 142 57\n");
}

TEST(AccessLine, NoRequestIsDashes) {
  AccessRecord r{"[2001:db8::1]:80", "", 400, 120, 0};
  EXPECT_EQ(line_of(r), "2026-11-30T23:50:36.123Z [2001:db8::1]:80 - - 400 120 0\n");
}

// Whatever a client sends, a line stays one line of space-separated fields.
TEST(AccessLine, OddBytesAreEscaped) {
  AccessRecord r{"192.0.2.7:1", std::string_view("GET /a b\\\n\x7f\x80", 12), 404, 1, 2};
  EXPECT_EQ(line_of(r),
            "2026-11-30T23:50:36.123Z 192.0.2.7:1 GET /a\\x20b\\x5c\\x0a\\x7f\\x80 404 1 2\n");
}

TEST(AccessLine, LongTargetIsCutAndTheLineEnds) {
  std::string target = "GET /" + std::string(1000, 'a');
  AccessRecord r{"192.0.2.7:1", target, 200, 1, 2};
  std::string l = line_of(r, 100);
  EXPECT_EQ(l.size(), 100u);
  EXPECT_EQ(l.back(), '\n');
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// Waits until `path` has at least n lines (the loops write within 200 ms of a response).
std::vector<std::string> wait_lines(const std::string& path, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<std::string> lines;
  while ((lines = read_lines(path)).size() < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return lines;
}

// TIME CLIENT METHOD TARGET STATUS BYTES MICROSECONDS
const std::regex kLine(
    R"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) 127\.0\.0\.1:(\d+) (\S+) (\S+) (\d{3}) (\d+) (\d+))");

struct Fields {
  std::string method, target;
  int status;
  uint64_t bytes;
};
Fields fields(const std::string& line) {
  std::smatch m;
  EXPECT_TRUE(std::regex_match(line, m, kLine)) << line;
  if (m.empty()) return {};
  return {m[3], m[4], std::stoi(m[5]), std::stoull(m[6])};
}

class AccessLog : public ht::HttpServerTest {
 protected:
  rt::TempDir dir_;
  std::string path_ = dir_.file("access.log");
};

TEST_P(AccessLog, OneLinePerResponse) {
  if (!start({"--access-log", path_})) return;
  ht::Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  auto plain = c.roundtrip(ht::get("/plaintext"));
  ASSERT_TRUE(plain.ok) << plain.error;
  auto echo = c.roundtrip(ht::post("/echo", "hello"));
  ASSERT_TRUE(echo.ok) << echo.error;
  auto chunked = c.roundtrip(ht::post_chunked("/echo", "abc"));
  ASSERT_TRUE(chunked.ok) << chunked.error;
  auto missing = c.roundtrip(ht::head("/nope"), true);
  ASSERT_TRUE(missing.ok) << missing.error;
  // Three pipelined in one send: three lines.
  std::vector<ht::Response> rs;
  std::string err;
  ASSERT_TRUE(
      c.transact(ht::get("/json") + ht::get("/health") + ht::get("/json"), 3, {}, &rs, &err))
      << err;

  auto lines = wait_lines(path_, 7);
  ASSERT_EQ(lines.size(), 7u);
  std::vector<std::pair<std::string, int>> got;
  for (const auto& l : lines) {
    Fields f = fields(l);
    got.emplace_back(f.method + " " + f.target, f.status);
  }
  const std::vector<std::pair<std::string, int>> want = {
      {"GET /plaintext", 200}, {"POST /echo", 200},  {"POST /echo", 200}, {"HEAD /nope", 404},
      {"GET /json", 200},      {"GET /health", 200}, {"GET /json", 200}};
  EXPECT_EQ(got, want);
  // Bytes are the response's own: status line, headers and body as the client received them.
  EXPECT_EQ(fields(lines[0]).bytes, plain.response.raw.size());
  EXPECT_EQ(fields(lines[1]).bytes, echo.response.raw.size());
}

TEST_P(AccessLog, BadRequestHasNoMethodOrTarget) {
  if (!start({"--access-log", path_})) return;
  ht::Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c.send("GARBAGE\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.code, 400);
  auto lines = wait_lines(path_, 1);
  ASSERT_EQ(lines.size(), 1u);
  Fields f = fields(lines[0]);
  EXPECT_EQ(f.method + " " + f.target, "- -");
  EXPECT_EQ(f.status, 400);
}

TEST_P(AccessLog, DashIsStdout) {
  if (!start({"--access-log", "-"})) return;
  ht::Client c(addr());
  ASSERT_TRUE(c.roundtrip(ht::get("/plaintext")).ok);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_.child().stdout_text().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string out = server_.child().stdout_text();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(fields(out.substr(0, out.size() - 1)).target, "/plaintext");
}

// logrotate: rename, then SIGUSR1; the next lines go to a new file at the old path.
TEST_P(AccessLog, Sigusr1ReopensAfterRotation) {
  if (!start({"--access-log", path_})) return;
  ht::Client c(addr());
  ASSERT_TRUE(c.roundtrip(ht::get("/plaintext")).ok);
  ASSERT_EQ(wait_lines(path_, 1).size(), 1u);
  std::string rotated = path_ + ".1";
  ASSERT_EQ(rename(path_.c_str(), rotated.c_str()), 0);
  server_.child().signal(SIGUSR1);
  ASSERT_TRUE(server_.child().wait_for_stderr("SIGUSR1: reopening the access log", 10000));
  ASSERT_TRUE(c.roundtrip(ht::get("/json")).ok);
  auto lines = wait_lines(path_, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(fields(lines[0]).target, "/json");
  auto old = read_lines(rotated);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(fields(old[0]).target, "/plaintext");
}

TEST(AccessLogStart, UnwritablePathExits1NamingIt) {
  rt::RunResult r =
      rt::run_process({rt::reactord_path(), "--no-config", "--listen", "http=127.0.0.1:0",
                       "--access-log", "/nonexistent/dir/access.log"});
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_NE(r.err.find("--access-log /nonexistent/dir/access.log: No such file or directory"),
            std::string::npos)
      << r.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessLog, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
