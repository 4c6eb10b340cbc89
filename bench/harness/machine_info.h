// Describes the machine a benchmark ran on (CPU model, usable cores, kernel) for its report.
#pragma once

#include <string>

namespace reactord::bench {

class JsonWriter;

struct MachineInfo {
  std::string cpu_model;  // "model name" from /proc/cpuinfo, "unknown" if absent
  int cores = 0;          // CPUs this process may run on (sched_getaffinity), not all online CPUs
  int online_cpus = 0;    // sysconf(_SC_NPROCESSORS_ONLN)
  std::string kernel;     // uname: sysname + release, e.g. "Linux 6.1.0-18-amd64"
  std::string arch;       // uname machine, e.g. "x86_64"
};

// Reads the current machine's description; never throws, falls back to "unknown"/0.
MachineInfo detect_machine();

// Writes {"cpu_model":..,"cores":..,"online_cpus":..,"kernel":..,"arch":..}.
void write_json(JsonWriter& out, const MachineInfo& info);

}  // namespace reactord::bench
