// [hardening] items 2 and 3: a crowd of peers that do not read must not freeze reactord for
// everybody else, nor make its memory grow past --buffer-memory plus a fixed overhead.
// One loop (--threads 1), every backend, two crowds:
//   slow readers: 600 clients with a 4 KiB SO_RCVBUF pushing 3 MB each at echo (item 2 froze
//                 epoll: the loop's buffer pool ran dry and every read was deferred);
//   tricklers:    1,300 clients writing 8 KiB at a time to echo (item 3 froze io_uring: echo
//                 held the receive-ring buffers of peers that do not read).
// While the crowd is on, echo and HTTP keep-alive connections opened before it, and fresh ones
// opened during it, must each get exact answers within a generous bound (a freeze fails it;
// the p99 is printed, the goal being <= 50 ms), /metrics must answer, and VmRSS must stay
// within the budget plus a fixed overhead.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/abuse/abuse_support.h"
#include "tests/support/backends.h"
#include "tests/support/net.h"
#include "tests/support/payload.h"
#include "tests/support/process.h"

namespace {

using abuse::fmt;
using abuse::kMiB;

// The budget the server is started with.
constexpr long kBudgetMiB = 64;
// RSS allowed beyond the budget. What the budget does not cover and a crowd cannot grow:
// the binary, libc and the idle loop (~5 MiB measured on both backends), the io_uring
// provided-buffer ring (1,024 x 16 KiB = 16 MiB once every buffer has been used), the
// connection slot table and the handlers' per-connection state for ~1,300 connections
// (chunks of 1,024 slots: well under 4 MiB), receive buffers in flight within one loop turn,
// and allocator slack. 48 MiB is twice that sum; the item 2/3 figures were 257 and 514 MiB.
constexpr long kOverheadMiB = 48;
// Per request: far above any honest latency on a loaded 2-core machine, far below "frozen".
constexpr int kRequestTimeoutMs = 10000;
// How long the probes run while the crowd is on.
constexpr int kCrowdActiveMs = 15000;

struct ProbeFigures {
  abuse::Latencies existing_echo, existing_http, fresh_echo, fresh_http;
  int scrapes = 0;
  double max_write_queue = 0;
  double max_active = 0;
  std::string failure;  // the first request that was not answered in time, or empty
};

class AbuseCrowd : public testing::TestWithParam<reactor::BackendKind> {
 protected:
  void run_crowd(const std::string& name, const abuse::Crowd::Options& crowd_opts);
};

void AbuseCrowd::run_crowd(const std::string& name, const abuse::Crowd::Options& crowd_opts) {
  const std::string backend = reactor::backend_kind_name(GetParam());
  std::vector<std::string> args = {"--threads",        "1",        "--listen",
                                   "echo=127.0.0.1:0", "--listen", "http=127.0.0.1:0",
                                   "--drain-timeout",  "2"};
  const bool budget_flag = abuse::reactord_has_flag("--buffer-memory");
  if (budget_flag) {
    args.push_back("--buffer-memory");
    args.push_back(std::to_string(kBudgetMiB) + "m");
  } else {
    ADD_FAILURE() << "reactord has no --buffer-memory flag (the per-loop budget of items 2/3): "
                     "running the crowd without it";
  }
  rt::Reactord srv;
  RT_START_REACTORD(srv, GetParam(), args);
  const auto echo = srv.address("echo");
  const auto http = srv.address("http");

  // Pre-existing connections, checked once before the crowd arrives.
  const std::string payload = rt::random_bytes(1024, 7);
  std::vector<rt::Fd> echo_conns;
  std::vector<std::unique_ptr<ht::Client>> http_conns;
  for (int i = 0; i < 4; ++i) {
    std::string err;
    echo_conns.push_back(rt::connect_to(echo, 5000, &err));
    ASSERT_TRUE(echo_conns.back()) << err;
    double ms;
    ASSERT_TRUE(abuse::echo_roundtrip(echo_conns.back().get(), payload, 5000, &ms, &err)) << err;
    http_conns.push_back(std::make_unique<ht::Client>(http, 5000));
    ASSERT_TRUE(http_conns.back()->ok()) << http_conns.back()->error();
    ASSERT_TRUE(abuse::http_plaintext(*http_conns.back(), 5000, &ms, &err)) << err;
  }
  const long rss_before = rt::rss_kib(srv.pid());

  abuse::RssSampler rss;
  rss.start(srv.pid());
  abuse::Crowd crowd;
  std::string error;
  ASSERT_TRUE(crowd.start(echo, crowd_opts, 15000, &error)) << error;

  ProbeFigures f;
  const uint64_t crowd_start = rt::now_ms();
  const uint64_t deadline = crowd_start + kCrowdActiveMs;
  // Runs one probe; the first one not answered in time ends the probing (a frozen server
  // would otherwise cost kRequestTimeoutMs per probe).
  auto probe = [&](abuse::Latencies* lat, const std::string& what, auto&& request) {
    if (!f.failure.empty()) return;
    const uint64_t t0 = rt::now_ms();
    std::string why;
    double ms = 0;
    if (request(&ms, &why)) {
      if (lat) lat->add(ms);
      return;
    }
    f.failure = fmt("%s: %s (sent %.1f s into the crowd)", what.c_str(), why.c_str(),
                    static_cast<double>(t0 - crowd_start) / 1000.0);
  };
  for (int round = 0; rt::now_ms() < deadline && f.failure.empty() && round < 100000; ++round) {
    if (round % 10 == 0) {
      probe(nullptr, "/metrics", [&](double*, std::string* why) {
        auto m = abuse::try_scrape(http, kRequestTimeoutMs, why);
        if (!m) return false;
        ++f.scrapes;
        f.max_write_queue =
            std::max(f.max_write_queue, ht::sum_family(*m, "reactord_write_queue_bytes"));
        f.max_active = std::max(f.max_active, ht::sum_family(*m, "reactord_connections_active"));
        return true;
      });
    }
    for (size_t i = 0; i < echo_conns.size(); ++i) {
      probe(&f.existing_echo, fmt("pre-existing echo #%zu", i), [&](double* ms, std::string* why) {
        return abuse::echo_roundtrip(echo_conns[i].get(), payload, kRequestTimeoutMs, ms, why);
      });
    }
    for (size_t i = 0; i < http_conns.size(); ++i) {
      probe(&f.existing_http, fmt("pre-existing http #%zu", i), [&](double* ms, std::string* why) {
        return abuse::http_plaintext(*http_conns[i], kRequestTimeoutMs, ms, why);
      });
    }
    probe(&f.fresh_echo, "fresh echo", [&](double* ms, std::string* why) {
      return abuse::fresh_echo(echo, payload, kRequestTimeoutMs, ms, why);
    });
    probe(&f.fresh_http, "fresh http", [&](double* ms, std::string* why) {
      return abuse::fresh_http(http, kRequestTimeoutMs, ms, why);
    });
    rt::sleep_ms(20);
  }
  const uint64_t crowd_sent = crowd.bytes_sent();
  const size_t crowd_ended = crowd.ended_by_server();
  crowd.stop();
  rss.stop();

  abuse::figure(
      fmt("%s %s: existing echo %s, existing http %s, fresh echo %s, fresh http %s (goal p99 <= 50 "
          "ms)",
          name.c_str(), backend.c_str(), f.existing_echo.summary().c_str(),
          f.existing_http.summary().c_str(), f.fresh_echo.summary().c_str(),
          f.fresh_http.summary().c_str()));
  abuse::figure(
      fmt("%s %s: rss %.0f MiB before, max %.0f MiB during (budget %ld MiB%s, "
          "allowed %ld MiB); metrics scrapes %d, max write queue %.1f MiB, max "
          "connections %.0f",
          name.c_str(), backend.c_str(), abuse::mib(rss_before), abuse::mib(rss.max_kib()),
          kBudgetMiB, budget_flag ? "" : " NOT SET: flag missing", kBudgetMiB + kOverheadMiB,
          f.scrapes, f.max_write_queue / kMiB, f.max_active));
  abuse::figure(fmt("%s %s: crowd %zu clients sent %.0f MB, %zu closed by the server%s%s",
                    name.c_str(), backend.c_str(), crowd_opts.clients,
                    static_cast<double>(crowd_sent) / 1e6, crowd_ended,
                    f.failure.empty() ? "" : "; FIRST FAILURE: ", f.failure.c_str()));

  EXPECT_TRUE(f.failure.empty()) << f.failure;
  EXPECT_GT(f.scrapes, 0) << "/metrics never answered during the crowd";
  EXPECT_GT(f.fresh_echo.count(), 0u);
  if (!rt::kSanitized) {
    EXPECT_LE(rss.max_kib(), (kBudgetMiB + kOverheadMiB) * 1024)
        << "VmRSS went past the buffer budget plus the fixed overhead";
  }
  EXPECT_TRUE(srv.child().running()) << srv.child().stderr_text();
  echo_conns.clear();
  http_conns.clear();
  auto st = srv.terminate(20000);
  ASSERT_TRUE(st.has_value()) << "reactord did not exit after SIGTERM";
  EXPECT_EQ(rt::describe_status(*st), "exit 0");
}

// Item 2: 600 peers with a 4 KiB receive buffer push 3 MB each at echo and never read.
TEST_P(AbuseCrowd, SlowReadersLeaveOthersServed) {
  abuse::Crowd::Options o;
  o.clients = 600;
  o.rcvbuf = 4096;
  o.payload = rt::random_bytes(64 * 1024, 11);
  o.bytes_each = 3'000'000;
  o.write_size = 64 * 1024;
  run_crowd("slow_readers", o);
}

// Item 3: 1,300 peers write 8 KiB at a time (one write each per 40 ms) and never read.
TEST_P(AbuseCrowd, TricklersLeaveOthersServed) {
  abuse::Crowd::Options o;
  o.clients = 1300;
  o.payload = rt::random_bytes(8 * 1024, 13);
  o.write_size = 8 * 1024;
  o.interval_ms = 40;
  run_crowd("tricklers", o);
}

INSTANTIATE_TEST_SUITE_P(Backends, AbuseCrowd, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
