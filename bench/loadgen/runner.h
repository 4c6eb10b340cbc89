// Runs one measurement (or one ramp step): spawns the worker threads, shows progress, merges.
#pragma once

#include <string>

#include "bench/loadgen/options.h"
#include "bench/loadgen/protocol.h"
#include "bench/loadgen/stats.h"

namespace reactord::bench {

struct StepResult {
  int conns = 0;
  int threads = 0;
  RunStats stats;
  double duration_s = 0;  // the measurement window (after warmup)
  double cpu_user_s = 0;  // this process, over the whole step
  double cpu_sys_s = 0;
  double wall_s = 0;  // the whole step, including connection setup and warmup
  bool unreachable = false;
  int connect_errno = 0;     // the first connect failure's errno
  bool interrupted = false;  // SIGINT: figures cover a shortened run
  std::string failure;       // a worker could not run at all (e.g. no event loop)
  std::string error_sample;  // the first protocol error, if any
};

// SIGINT ends the current step early (its figures are still reported); SIGPIPE is ignored.
void install_signal_handlers();
bool interrupted();

StepResult run_step(const Options& o, const Protocol& proto, int conns);

}  // namespace reactord::bench
