// reactord-bench's command line: every flag, its default, and strict parsing with clear errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/socket_address.h"

namespace reactord::bench {

enum class Proto { kEcho, kUpper, kHttp };
const char* proto_name(Proto p);

// How load is offered; derived from the flags (see Options::mode()).
enum class Mode { kClosed, kOpen, kChurn };
const char* mode_name(Mode m);

struct Options {
  std::string target_text;  // as given, for reports and the Host header
  reactor::SocketAddress target;
  Proto proto = Proto::kEcho;
  std::string path = "/";
  // HTTP request: method, extra header lines ("Name: value"), body (Content-Length is added).
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body;
  int conns = 10;
  int threads = 1;
  double duration_s = 10;
  bool duration_set = false;
  uint64_t requests = 0;  // 0 = stop on duration only
  size_t size = 64;
  int pipeline = 1;
  double rate = 0;          // requests/s over all connections; 0 = closed loop
  double connect_rate = 0;  // new connections/s over all threads; 0 = unpaced
  bool churn = false;
  bool ramp = false;
  int ramp_start = 0;
  int ramp_step = 0;
  int ramp_end = 0;
  std::string json_path;
  double warmup_s = 0;
  double connect_timeout_s = 5;

  Mode mode() const { return churn ? Mode::kChurn : rate > 0 ? Mode::kOpen : Mode::kClosed; }
};

// What one worker's event loop can hold for its connections: its buffer pool, capped by the
// loop's memory budget (LoopConfig defaults; Worker::run() keeps both). Requests queued for
// sending live there, so --size x --pipeline x connections per thread must fit in it with room
// left for replies being read: half of it at most. Past that the loop would refuse buffers or
// close our own connections, and the report would blame the server.
uint64_t loop_buffer_bytes();
// Request bytes one worker may have queued at once under `o` (connections per thread, rounded
// up, x --pipeline x request size); 0 when the protocol's requests are small (http).
uint64_t queued_bytes_per_thread(const Options& o);

struct ParseOutcome {
  bool run = true;
  int exit_code = 0;    // when !run: 0 after --help, 2 for a bad flag
  std::string message;  // usage (stdout) or the one-line error (stderr)
};

// Parses argv (--flag VALUE or --flag=VALUE), and wrk's forms: a URL argument
// (http://HOST:PORT/PATH sets --target, --proto http and --path), -c/-d/-t for
// --conns/--duration/--threads, durations with s, m or h. A bad flag yields one line that
// names it.
ParseOutcome parse_options(int argc, char** argv, Options* out);

// The HTTP request every connection sends: `o`'s method, path, headers and body, Host `host`.
std::string http_request_text(const Options& o, const std::string& host);

// "10s" -> 10, "2m" -> 120, "1h" -> 3600, "1.5" -> 1.5 (seconds without a suffix).
bool parse_duration(std::string_view text, double lo, double hi, double* out);
std::string usage_text();

}  // namespace reactord::bench
