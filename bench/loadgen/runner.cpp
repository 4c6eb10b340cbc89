// run_step: splitting conns/rate/budget over threads, the wait loop, the live progress line.
#include "bench/loadgen/runner.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench/loadgen/worker.h"
#include "reactor/clock.h"

namespace reactord::bench {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) {
  g_interrupted.store(true, std::memory_order_relaxed);
}

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

void install_signal_handlers() {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

bool interrupted() {
  return g_interrupted.load(std::memory_order_relaxed);
}

StepResult run_step(const Options& o, const Protocol& proto, int conns) {
  StepResult result;
  result.conns = conns;
  int threads = o.threads < conns ? o.threads : conns;
  if (o.requests > 0 && static_cast<uint64_t>(threads) > o.requests)
    threads = static_cast<int>(o.requests);  // a worker with no budget would mean "unlimited"
  result.threads = threads;

  SharedState shared;
  rusage ru0{};
  getrusage(RUSAGE_SELF, &ru0);
  const uint64_t start_ns = reactor::monotonic_ns();
  const uint64_t warmup_end = start_ns + static_cast<uint64_t>(o.warmup_s * 1e9);
  const bool timed = o.requests == 0 || o.duration_set;
  const uint64_t end_ns = timed ? warmup_end + static_cast<uint64_t>(o.duration_s * 1e9) : 0;

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) {
    WorkerConfig wc;
    wc.options = &o;
    wc.index = i;
    wc.conns = conns / threads + (i < conns % threads ? 1 : 0);
    double share = static_cast<double>(wc.conns) / conns;
    wc.rate = o.rate * share;
    wc.connect_rate = o.connect_rate * share;
    if (o.requests > 0)
      wc.budget = o.requests / static_cast<uint64_t>(threads) +
                  (static_cast<uint64_t>(i) < o.requests % static_cast<uint64_t>(threads) ? 1 : 0);
    wc.warmup_end_ns = warmup_end;
    wc.end_ns = end_ns;
    // Interleave the workers' schedules instead of having them all fire at once.
    if (o.rate > 0) wc.phase_ns = static_cast<uint64_t>(1e9 / o.rate * i);
    workers.push_back(std::make_unique<Worker>(wc, proto, shared));
  }
  std::vector<std::thread> pool;
  for (auto& w : workers) pool.emplace_back([&w] { w->run(); });

  const bool tty = isatty(STDERR_FILENO);
  auto last = std::chrono::steady_clock::now();
  const auto first = last;
  uint64_t last_requests = 0;
  bool stop_sent = false;
  bool printed = false;
  while (true) {
    bool all_done = true;
    for (auto& w : workers) all_done = all_done && w->done();
    if (all_done) break;
    if (!stop_sent && (interrupted() || shared.unreachable.load(std::memory_order_relaxed))) {
      for (auto& w : workers) w->request_stop();
      stop_sent = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto now = std::chrono::steady_clock::now();
    if (tty && now - last >= std::chrono::seconds(1)) {
      uint64_t reqs = 0, errs = 0;
      for (auto& w : workers) {
        reqs += w->live_requests();
        errs += w->live_errors();
      }
      double dt = std::chrono::duration<double>(now - last).count();
      double t = std::chrono::duration<double>(now - first).count();
      fprintf(stderr, "\r\033[K[%6.1fs] conns %d  %12.0f req/s  errors %llu", t, conns,
              static_cast<double>(reqs - last_requests) / dt,
              static_cast<unsigned long long>(errs));
      fflush(stderr);
      printed = true;
      last = now;
      last_requests = reqs;
    }
  }
  for (auto& t : pool) t.join();
  if (printed) fprintf(stderr, "\r\033[K");

  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  result.cpu_user_s = seconds(ru1.ru_utime) - seconds(ru0.ru_utime);
  result.cpu_sys_s = seconds(ru1.ru_stime) - seconds(ru0.ru_stime);
  result.wall_s = static_cast<double>(reactor::monotonic_ns() - start_ns) / 1e9;
  for (auto& w : workers) {
    result.stats.merge(w->stats());
    if (result.failure.empty() && !w->failure().empty()) result.failure = w->failure();
    if (result.error_sample.empty() && w->error_sample()) result.error_sample = w->error_sample();
  }
  if (result.stats.end_ns > result.stats.start_ns)
    result.duration_s = static_cast<double>(result.stats.end_ns - result.stats.start_ns) / 1e9;
  result.unreachable = shared.unreachable.load() && shared.connects_ok.load() == 0;
  result.connect_errno = shared.first_connect_errno.load();
  result.interrupted = interrupted();
  return result;
}

}  // namespace reactord::bench
