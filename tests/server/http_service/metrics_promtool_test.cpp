// /metrics as Prometheus's own linter sees it: `promtool check metrics` finds nothing, with
// every family present (each protocol listening, traffic on each). promtool comes from
// Debian's prometheus package, unpacked by scripts/deps.sh (no Prometheus server runs).
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/http_client.h"

namespace {

std::string promtool() {
  if (const char* env = getenv("REACTORD_PROMTOOL")) return env;
  for (const char* p : {"/var/cache/reactord/prometheus/usr/bin/promtool", "/usr/bin/promtool"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

class Promtool : public ht::HttpServerTest {};

TEST_P(Promtool, CheckMetricsFindsNothing) {
  const std::string tool = promtool();
  ASSERT_FALSE(tool.empty())
      << "promtool not found: run scripts/deps.sh (or set REACTORD_PROMTOOL)";
  if (!start({"--listen", "echo=127.0.0.1:0", "--listen", "udp-echo=127.0.0.1:0"})) return;
  ht::Client c(addr());
  ASSERT_TRUE(c.roundtrip(ht::get("/plaintext")).ok);
  ASSERT_TRUE(c.roundtrip(ht::get("/nope")).ok);
  ht::ReadResult r = c.roundtrip(ht::scrape_request());
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.response.code, 200);
  const std::string& text = r.response.body;
  for (const char* family : {"reactord_http_request_duration_seconds_bucket", "process_open_fds",
                             "reactord_build_info", "reactord_host_listen_overflows_total",
                             "reactord_received_bytes_total", "reactord_listener_backlog"})
    EXPECT_NE(text.find(family), std::string::npos) << family;

  rt::RunResult check = rt::run_process({tool, "check", "metrics"}, text);
  EXPECT_EQ(check.exit_code(), 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "");
}

INSTANTIATE_TEST_SUITE_P(Backends, Promtool, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
