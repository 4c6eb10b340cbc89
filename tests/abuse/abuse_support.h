// Abuse-suite helpers: a crowd of misbehaving clients on their own threads, probe clients that
// time every request, an RSS sampler, /metrics scrapes that never fail the test by themselves,
// and the "[figure]" lines every abuse test prints.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "reactor/socket_address.h"
#include "tests/support/http_client.h"
#include "tests/support/net.h"

namespace abuse {

constexpr long kMiB = 1024 * 1024;

// Prints "[figure] <text>" on its own line (stdout, flushed) and records it as a test property
// so it lands in the GoogleTest XML report too.
void figure(const std::string& text);
std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Does `reactord --help` list this flag (e.g. "--buffer-memory")? Answered once per flag.
bool reactord_has_flag(const std::string& flag);

// Request latencies in milliseconds.
class Latencies {
 public:
  void add(double ms) { ms_.push_back(ms); }
  size_t count() const { return ms_.size(); }
  double percentile(double p) const;  // nearest rank; 0 when empty
  double p99() const { return percentile(99); }
  double max() const { return percentile(100); }
  // "p99 3.2 ms (max 9.1 ms, n=312)"
  std::string summary() const;

 private:
  std::vector<double> ms_;
};

// A crowd of clients that send and never read. Each client sends `payload` (cycled) until it
// has sent `bytes_each` (0 = until stop()). With interval_ms = 0 a client writes whenever its
// socket takes bytes; otherwise every client makes one write of write_size per interval.
// The clients are spread over `threads` epoll loops. The server may pause or close crowd
// connections (that is the wanted policy for peers that do not read): a closed one is counted
// and dropped, never an error.
class Crowd {
 public:
  struct Options {
    size_t clients = 0;
    int rcvbuf = 0;  // SO_RCVBUF, set before connect (0 = the kernel default)
    std::string payload;
    uint64_t bytes_each = 0;
    size_t write_size = 64 * 1024;
    int interval_ms = 0;
    int threads = 2;
  };
  Crowd() = default;
  ~Crowd() { stop(); }
  Crowd(const Crowd&) = delete;
  Crowd& operator=(const Crowd&) = delete;

  // Connects every client (waiting at most timeout_ms for the handshakes) and starts sending.
  bool start(const reactor::SocketAddress& addr, const Options& opts, int timeout_ms,
             std::string* error);
  // Stops the threads and closes every socket: with RST when `reset` (unread data makes it
  // one anyway), else with a plain close (FIN when nothing is unread).
  void stop(bool reset = true);

  uint64_t bytes_sent() const { return sent_.load(); }
  size_t connected() const { return connected_.load(); }
  size_t ended_by_server() const { return ended_.load(); }
  // Clients that sent everything they had to send.
  size_t finished() const { return finished_.load(); }
  // Every client has finished or was ended by the server.
  bool all_done() const { return finished() + ended_by_server() >= opts_.clients; }
  // Milliseconds since any client last got a byte into its socket.
  uint64_t ms_since_progress() const;

 private:
  struct Client {
    int fd = -1;
    uint64_t sent = 0;
    bool connected = false;
    bool ended = false;
    bool finished = false;
  };
  struct Worker {
    int ep = -1;
    std::vector<Client> clients;
    std::thread thread;
  };
  void run(Worker* w);
  void push(Client& c, bool once);
  void end(Client& c);

  Options opts_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> progress_ms_{0};
  std::atomic<size_t> connected_{0};
  std::atomic<size_t> ended_{0};
  std::atomic<size_t> finished_{0};
};

// Samples /proc/PID/status VmRSS every period_ms on its own thread.
class RssSampler {
 public:
  ~RssSampler() { stop(); }
  void start(pid_t pid, int period_ms = 50);
  void stop();
  long max_kib() const { return max_.load(); }
  long last_kib() const { return last_.load(); }
  // (milliseconds since start, KiB) pairs.
  std::vector<std::pair<uint64_t, long>> samples();

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<long> max_{0};
  std::atomic<long> last_{0};
  std::mutex mu_;
  std::vector<std::pair<uint64_t, long>> samples_;
};

inline double mib(long kib) {
  return static_cast<double>(kib) / 1024.0;
}

// ---------------------------------------------------------------- probe requests
// Each returns true when the exact answer came within timeout_ms; *ms is its latency and
// *why the reason when it did not.

// One echo round trip of `payload` on an open connection.
bool echo_roundtrip(int fd, const std::string& payload, int timeout_ms, double* ms,
                    std::string* why);
// Connect, one echo round trip, close (the latency includes the connect).
bool fresh_echo(const reactor::SocketAddress& addr, const std::string& payload, int timeout_ms,
                double* ms, std::string* why);
// GET /plaintext on a keep-alive connection: 200 and "Hello, World!".
bool http_plaintext(ht::Client& c, int timeout_ms, double* ms, std::string* why);
// Connect, GET /plaintext, close (the latency includes the connect).
bool fresh_http(const reactor::SocketAddress& addr, int timeout_ms, double* ms, std::string* why);

// GET /metrics on a fresh connection; nullopt (and *why) on any trouble, never a test failure.
std::optional<ht::Metrics> try_scrape(const reactor::SocketAddress& addr, int timeout_ms,
                                      std::string* why);

}  // namespace abuse

namespace abuse {

// A burst of newcomers: `n` connections opened at once; each sends `request` (may be empty)
// once connected, and is resolved when `served(received bytes)` holds (served) or the server
// ends it with EOF/RST (closed). Bounded by timeout_ms: what is still unresolved then is hung.
struct NewcomerOutcome {
  size_t served = 0;
  size_t closed = 0;
  size_t hung = 0;
  size_t connect_failed = 0;  // refused or timed out at connect (the kernel's queue was full)
  Latencies to_serve;         // ms from connect() to the answer
  Latencies to_close;         // ms from connect() to EOF/RST
};
NewcomerOutcome run_newcomers(const reactor::SocketAddress& addr, size_t n,
                              const std::string& request,
                              const std::function<bool(const std::string&)>& served, int timeout_ms,
                              std::vector<rt::Fd>* keep_served = nullptr);

// A TCP port on 127.0.0.1 that is free now and outside the kernel's ephemeral range (so no
// other test's outgoing connection can take it between two binds); 0 if none was found.
int free_port_outside_ephemeral_range();

}  // namespace abuse
