// Why not just clock_gettime: two reads per request were half the cost of a /plaintext request's
// histogram and access-log timing under bench/ci's instruction count (rdtsc is one instruction).
#include "server/http_service/request_clock.h"

#include <time.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <string>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace reactord {
namespace {

std::once_flag g_once;
bool g_tsc = false;
double g_us_per_tick = 0.001;  // CLOCK_MONOTONIC ticks are nanoseconds

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

bool kernel_clock_is_tsc() {
  std::ifstream f("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string source;
  return f >> source && source == "tsc";
}

void choose() {
#if defined(__x86_64__)
  if (!kernel_clock_is_tsc()) return;
  uint64_t ns0 = monotonic_ns();
  uint64_t t0 = __rdtsc();
  timespec pause{0, 5 * 1000 * 1000};
  nanosleep(&pause, nullptr);
  uint64_t ns1 = monotonic_ns();
  uint64_t t1 = __rdtsc();
  if (t1 <= t0 || ns1 <= ns0) return;
  g_us_per_tick = static_cast<double>(ns1 - ns0) / 1000.0 / static_cast<double>(t1 - t0);
  g_tsc = true;
#endif
}

}  // namespace

void RequestClock::init() {
  std::call_once(g_once, choose);
}

uint64_t RequestClock::now() {
#if defined(__x86_64__)
  if (g_tsc) return __rdtsc();
#endif
  return monotonic_ns();
}

uint64_t RequestClock::to_us(uint64_t ticks) {
  return static_cast<uint64_t>(static_cast<double>(ticks) * g_us_per_tick);
}

bool RequestClock::uses_tsc() {
  return g_tsc;
}

}  // namespace reactord
