// Timestamps for request durations, cheap enough to take twice per request: the CPU's
// timestamp counter where the kernel itself trusts it as its clock, else CLOCK_MONOTONIC.
#pragma once

#include <cstdint>

namespace reactord {

// Thread-safe after init(); init() is idempotent and may be called from any thread.
class RequestClock {
 public:
  // Chooses the source (TSC only when the kernel's clocksource is "tsc": then it is invariant
  // and synchronized across CPUs) and calibrates it against CLOCK_MONOTONIC over ~5 ms.
  static void init();
  static uint64_t now();                  // ticks
  static uint64_t to_us(uint64_t ticks);  // a tick difference in microseconds
  static bool uses_tsc();
};

}  // namespace reactord
