// LoopGroup: thread start-up handshake, CPU pinning, fan-out of drain and stop.
#include "reactor/loop_group.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>

#include "reactor/log.h"

namespace reactor {

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

LoopGroup::~LoopGroup() {
  stop();
  join();
}

bool LoopGroup::start(const Options& opts, const Init& init, std::string* error) {
  std::vector<int> cpus = allowed_cpus();
  int n = opts.threads > 0 ? opts.threads : static_cast<int>(cpus.size());
  loops_.assign(n, nullptr);
  for (int i = 0; i < n; ++i) {
    threads_.emplace_back([this, i, n, &opts, &init, cpus] {
      char name[16];
      snprintf(name, sizeof name, "reactor-%d", i);
      pthread_setname_np(pthread_self(), name);
      if (opts.pin) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpus[i % cpus.size()], &set);
        if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
          REACTOR_LOG_WARN("loop %d: could not pin to CPU %d", i, cpus[i % cpus.size()]);
      }
      std::unique_ptr<EventLoop> loop;
      std::string err;
      try {
        LoopConfig cfg = opts.loop;
        loop = std::make_unique<EventLoop>(cfg);
        init(*loop, i);
      } catch (const std::exception& e) {
        err = e.what();
        loop.reset();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!err.empty() && first_error_.empty()) first_error_ = err;
        if (loop) {
          loops_[i] = loop.get();
          if (i == 0) {
            backend_name_ = loop->backend_name();
            fallback_note_ = loop->fallback_note();
          }
        }
        ++ready_;
      }
      cv_.notify_all();
      if (!loop) return;
      // Wait for the verdict: if any loop failed, nobody runs.
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return go_ || !first_error_.empty(); });
        if (!first_error_.empty()) {
          loops_[i] = nullptr;
          return;  // loop destroyed here, on its own thread
        }
      }
      loop->run();
      // Leaving run() is not the end of the loop object: a sibling still in run() may be in
      // the middle of a /metrics scrape that reads this loop's stats and listeners, so it is
      // destroyed (here, on its own thread) only once join() saw every loop leave run(). The
      // count drops under mu_ so join()'s wait cannot miss it; loops_[i] is left alone (it is
      // read without the lock by loop() and the siblings until join() clears it).
      std::unique_lock<std::mutex> lock(mu_);
      running_.fetch_sub(1, std::memory_order_acq_rel);
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    });
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return ready_ >= n; });
  if (!first_error_.empty()) {
    *error = first_error_;
    lock.unlock();
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    loops_.clear();
    return false;
  }
  running_.store(n, std::memory_order_release);
  go_ = true;
  lock.unlock();
  cv_.notify_all();
  return true;
}

void LoopGroup::drain(uint64_t drain_timeout_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  for (EventLoop* l : loops_) {
    if (l) l->post([drain_timeout_ms](EventLoop& loop) { loop.begin_drain(drain_timeout_ms); });
  }
}

void LoopGroup::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  for (EventLoop* l : loops_) {
    if (l) l->request_stop();
  }
}

void LoopGroup::join() {
  if (threads_.empty()) return;
  // Wait until every loop has returned from run(), then release them to be destroyed: before
  // that, a loop still running may read any sibling (stats, listeners, post()).
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return running_.load(std::memory_order_acquire) == 0; });
    released_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  loops_.clear();
}

}  // namespace reactor
