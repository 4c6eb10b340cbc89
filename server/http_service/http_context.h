// What the HTTP service needs from the server that runs it, and nothing else of it: a drain
// flag, a sink for its counters, and a source for /metrics.
#pragma once

#include <atomic>
#include <string>

#include "server/http_service/http_stats.h"

namespace reactord {

class AccessLogFile;

// Renders the Prometheus text exposition for /metrics.
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Fills `out` (cleared first). Called on a loop thread per scrape; reads what other threads
  // write only through atomics or under their locks.
  virtual void render(std::string& out) = 0;
};

// Plain pointers, copied into each loop's handler: the drain flag is read once per request,
// so no call sits between a request and it. Everything pointed to outlives the handlers.
struct HttpContext {
  // Set by the main thread when the server starts to drain: /health answers 503 from then on
  // and every response closes its connection. Required.
  const std::atomic<bool>* draining = nullptr;
  HttpStatsRegistry* stats = nullptr;  // each loop's handler registers its counters here; required
  MetricsSource* metrics = nullptr;    // nullptr: /metrics is 404
  // Set by the main thread at SIGTERM, --drain-grace before `draining`: /ready (and the
  // agent-check) say so at once while everything else is served as before. nullptr: use
  // `draining`.
  const std::atomic<bool>* stopping = nullptr;
  const AccessLogFile* access_log = nullptr;  // --access-log; nullptr: off
};

}  // namespace reactord
