// reactord's stderr as an operator sees it: every line has a level; with JOURNAL_STREAM naming
// stderr each line starts with its sd-daemon priority, otherwise with an RFC 3339 time;
// --log-format json gives one object per line.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "tests/support/process.h"

namespace {

constexpr const char* kLevel = "(debug|info|warn|error)";
const std::string kTime = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";

void expect_every_line(const std::vector<std::string>& lines, const std::string& pattern) {
  std::regex re(pattern);
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, re)) << "line: " << l;
}

// Starts reactord at level debug, stops it, returns its stderr lines.
std::vector<std::string> run_server(std::vector<std::string> args,
                                    std::vector<std::string> launcher = {}) {
  rt::Reactord server;
  rt::Reactord::Options o;
  o.args = std::move(args);
  o.args.insert(o.args.end(), {"--listen", "echo=127.0.0.1:0"});
  o.log_level = "debug";
  o.launcher = std::move(launcher);
  // Reactord::start knows the text "ready" line only; a JSON one is waited for here.
  bool json = std::find(o.args.begin(), o.args.end(), "json") != o.args.end();
  o.wait_ready = !json;
  auto started = server.start(o);
  EXPECT_EQ(started.kind, rt::Reactord::Start::kReady) << started.message;
  if (json) {
    EXPECT_TRUE(server.child().wait_for_stderr("\"message\":\"ready\"}", 30000))
        << server.child().stderr_text();
  }
  auto status = server.terminate();
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  return server.child().stderr_lines();
}

TEST(LogLines, TextLinesStartWithTheTime) {
  expect_every_line(run_server({}), kTime + " reactord: " + kLevel + ": .*");
}

TEST(LogLines, UnderTheJournalLinesStartWithThePriority) {
  // As systemd would: JOURNAL_STREAM is "DEVICE:INODE" of the stream that is stderr.
  std::vector<std::string> launcher = {
      "/bin/sh", "-c", "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec \"$@\"", "sh"};
  auto lines = run_server({}, launcher);
  expect_every_line(lines, std::string("<[3467]>reactord: ") + kLevel + ": .*");
  EXPECT_NE(std::find(lines.begin(), lines.end(), "<6>reactord: info: ready"), lines.end());

  // An error gets priority 3, so `journalctl -p err` shows it.
  std::vector<std::string> argv = launcher;
  argv.insert(argv.end(), {rt::reactord_path(), "--no-config", "--threads", "many"});
  rt::RunResult r = rt::run_process(argv);
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_TRUE(r.err.starts_with("<3>reactord: error: --threads: ")) << r.err;
}

// A JOURNAL_STREAM inherited from a parent whose stderr was redirected is not ours.
TEST(LogLines, ForeignJournalStreamIsIgnored) {
  std::vector<std::string> launcher = {"/usr/bin/env", "JOURNAL_STREAM=1:1"};
  expect_every_line(run_server({}, launcher), kTime + " reactord: " + kLevel + ": .*");
}

TEST(LogLines, JsonLines) {
  expect_every_line(run_server({"--log-format", "json"}),
                    "\\{\"time\":\"" + kTime + "\",\"level\":\"" + kLevel +
                        "\",\"program\":\"reactord\",\"message\":\"([^\"\\\\]|\\\\.)*\"\\}");
}

TEST(LogLines, UsageErrorsHaveALevel) {
  rt::RunResult r = rt::run_process({rt::reactord_path(), "--no-config", "--threads", "many"});
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_TRUE(std::regex_match(r.err, std::regex(kTime + " reactord: error: --threads: .*\n")))
      << r.err;
}

}  // namespace
