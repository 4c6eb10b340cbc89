// reactord-bench: parse flags, run the measurement (or the ramp's steps), report, set exit status.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/loadgen/options.h"
#include "bench/loadgen/pattern.h"
#include "bench/loadgen/protocol.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/runner.h"

using namespace reactord::bench;

namespace {

// Every connection is a descriptor, and the default soft limit (1024) is far below what
// --conns 10000 needs: take the hard limit, and say so when even that is too small.
void raise_fd_limit(const Options& o) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int conns = o.ramp ? o.ramp_end : o.conns;
  rlim_t need = static_cast<rlim_t>(conns) + 64 + 8 * static_cast<rlim_t>(o.threads);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
    fprintf(stderr, "reactord-bench: warning: open-file limit %llu is below the %llu needed\n",
            static_cast<unsigned long long>(rl.rlim_cur), static_cast<unsigned long long>(need));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  ParseOutcome parsed = parse_options(argc, argv, &o);
  if (!parsed.run) {
    if (parsed.exit_code == 0)
      fputs(parsed.message.c_str(), stdout);  // usage text, newline-terminated
    else
      fprintf(stderr, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  install_signal_handlers();
  raise_fd_limit(o);

  std::optional<PatternSet> patterns;
  std::unique_ptr<Protocol> proto;
  if (o.proto == Proto::kHttp) {
    proto =
        make_http_protocol(http_request_text(o, o.target.is_unix() ? "localhost" : o.target_text));
  } else {
    patterns.emplace(o.size, o.proto == Proto::kUpper);
    proto = make_stream_protocol(*patterns);
  }

  std::vector<StepResult> steps;
  if (o.ramp) {
    print_ramp_header(stdout, o);
    for (int c = o.ramp_start; c <= o.ramp_end && !interrupted(); c += o.ramp_step) {
      steps.push_back(run_step(o, *proto, c));
      const StepResult& r = steps.back();
      if (!r.failure.empty() || r.unreachable) break;
      print_ramp_row(stdout, r);
    }
  } else {
    steps.push_back(run_step(o, *proto, o.conns));
  }

  const StepResult& last = steps.back();
  if (!last.failure.empty()) {
    fprintf(stderr, "reactord-bench: cannot run: %s\n", last.failure.c_str());
    return 1;
  }
  int status = 0;
  if (last.unreachable) {
    fprintf(stderr, "reactord-bench: cannot connect to %s: %s\n", o.target_text.c_str(),
            strerror(last.connect_errno ? last.connect_errno : ECONNREFUSED));
    status = 1;
  } else if (!o.ramp) {
    print_summary(stdout, o, last);
  }
  if (!o.json_path.empty()) {
    std::string err;
    if (!write_json_report(o.json_path, o, steps, &err)) {
      fprintf(stderr, "reactord-bench: %s\n", err.c_str());
      return 1;
    }
  }
  // Anything short of a clean run fails the exit status, so scripts cannot miss it.
  uint64_t bad = 0, failed_connects = 0, http_errors = 0, not_2xx = 0, responses = 0;
  std::vector<uint64_t> by_status;
  for (const StepResult& r : steps) {
    bad += r.stats.errors + r.stats.mismatches;
    failed_connects += r.stats.connect_failures();
    http_errors += r.stats.status_at_least(400) + r.stats.status_other;
    not_2xx += r.stats.status_at_least(300) + r.stats.status_other +
               (r.stats.status_at_least(100) - r.stats.status_at_least(200));
    responses += r.stats.status_at_least(100) + r.stats.status_other;
    by_status.resize(std::max(by_status.size(), r.stats.status.size()));
    for (size_t code = 0; code < r.stats.status.size(); ++code)
      by_status[code] += r.stats.status[code];
  }
  if (not_2xx > 0) {
    // Said in words, not only through the exit status: a wrong path or method looks like a
    // fast server otherwise.
    std::string codes;
    for (size_t code = 100; code < by_status.size(); ++code) {
      if (by_status[code] && (code < 200 || code >= 300))
        codes += (codes.empty() ? "" : ", ") + std::to_string(code) + ": " +
                 std::to_string(by_status[code]);
    }
    fprintf(stderr, "reactord-bench: %llu of %llu HTTP responses were not 2xx (%s)\n",
            static_cast<unsigned long long>(not_2xx), static_cast<unsigned long long>(responses),
            codes.empty() ? "unparsed status" : codes.c_str());
    status = 1;
  }
  if (bad + failed_connects + http_errors > 0) {
    if (!last.unreachable)
      fprintf(stderr,
              "reactord-bench: not clean: %llu errors/mismatches, %llu failed connects, "
              "%llu HTTP responses >= 400\n",
              static_cast<unsigned long long>(bad),
              static_cast<unsigned long long>(failed_connects),
              static_cast<unsigned long long>(http_errors));
    status = 1;
  }
  return status;
}
