// Results out: the human-readable table on stdout and the --json file for compare/ci scripts.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "bench/loadgen/options.h"
#include "bench/loadgen/runner.h"

namespace reactord::bench {

void print_summary(FILE* out, const Options& o, const StepResult& r);
void print_ramp_header(FILE* out, const Options& o);
void print_ramp_row(FILE* out, const StepResult& r);

// {"params":{..},"machine":{..}, <figures>} for one run; with --ramp the figures of each step
// go into "steps":[..] and the top level keeps the totals (requests, errors, mismatches).
bool write_json_report(const std::string& path, const Options& o,
                       const std::vector<StepResult>& steps, std::string* error);

}  // namespace reactord::bench
