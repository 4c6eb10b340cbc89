// Machine description for bench reports, read from /proc/cpuinfo, sched_getaffinity and uname.
#include "harness/machine_info.h"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "harness/json_writer.h"

namespace reactord::bench {
namespace {

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

// x86 says "model name"; some ARM kernels only give "Hardware" or "Processor".
std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::string fallback;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string field = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (field == "model name" && !value.empty()) return value;
    if ((field == "Hardware" || field == "Processor") && fallback.empty()) fallback = value;
  }
  return fallback.empty() ? "unknown" : fallback;
}

// The affinity mask is what the benchmark can actually use (taskset, cgroup cpusets), which is
// what matters when comparing runs; nproc reports the same number.
int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 0;
}

}  // namespace

MachineInfo detect_machine() {
  MachineInfo info;
  info.cpu_model = read_cpu_model();
  info.cores = usable_cores();
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  info.online_cpus = online > 0 ? static_cast<int>(online) : 0;
  struct utsname uts;
  if (uname(&uts) == 0) {
    info.kernel = std::string(uts.sysname) + " " + uts.release;
    info.arch = uts.machine;
  } else {
    info.kernel = info.arch = "unknown";
  }
  return info;
}

void write_json(JsonWriter& out, const MachineInfo& info) {
  out.begin_object();
  out.member("cpu_model", info.cpu_model);
  out.member("cores", info.cores);
  out.member("online_cpus", info.online_cpus);
  out.member("kernel", info.kernel);
  out.member("arch", info.arch);
  out.end_object();
}

}  // namespace reactord::bench
