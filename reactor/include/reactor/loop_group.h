// Starts one EventLoop per thread (by default one per allowed CPU) and coordinates shutdown.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "reactor/event_loop.h"

namespace reactor {

// CPUs this process may run on (sched_getaffinity), in ascending order.
std::vector<int> allowed_cpus();

// Thread affinity: start/drain/stop/join are called from one controlling thread (main);
// each EventLoop lives entirely on its own thread and is reached only through post().
// Lifetime: loops_ is written only inside start() and cleared only by join() after every
// thread ended, so loop(i) and size() may be read from any thread in between (the loops read
// each other for /metrics). A loop object outlives every loop's run(): join() first waits for
// all of them to leave run(), then lets them be destroyed.
class LoopGroup {
 public:
  struct Options {
    int threads = 0;   // 0 = one per allowed CPU
    bool pin = false;  // pin loop i to the i-th allowed CPU
    LoopConfig loop;
  };
  // Runs on loop i's thread before it starts running; throw to fail start().
  using Init = std::function<void(EventLoop&, int index)>;

  LoopGroup() = default;
  ~LoopGroup();
  LoopGroup(const LoopGroup&) = delete;
  LoopGroup& operator=(const LoopGroup&) = delete;

  // Starts the threads and waits until every loop ran `init`. On failure every started loop
  // is stopped and joined, and *error says which loop failed and why.
  bool start(const Options& opts, const Init& init, std::string* error);
  void drain(uint64_t drain_timeout_ms);  // every loop closes listeners and drains
  void stop();                            // every loop stops after its current turn
  // Waits until every loop has left run() (after stop(), or once drains finished), then
  // destroys the loops and joins their threads. Blocks for as long as a loop keeps running.
  void join();
  size_t size() const { return loops_.size(); }
  // Loops still inside run() (0 once every loop has finished draining or stopped).
  int running() const { return running_.load(std::memory_order_acquire); }
  EventLoop& loop(size_t i) { return *loops_[i]; }
  const char* backend_name() const { return backend_name_.c_str(); }
  const std::string& fallback_note() const { return fallback_note_; }

 private:
  std::vector<std::thread> threads_;
  std::vector<EventLoop*> loops_;
  std::mutex mu_;
  std::condition_variable cv_;
  int ready_ = 0;                // loops that finished init (successfully or not)
  bool go_ = false;              // start() saw every loop ready: run
  bool released_ = false;        // join(): every loop left run(), so each may be destroyed
  std::atomic<int> running_{0};  // loops inside run(); decremented under mu_
  std::string first_error_;
  std::string backend_name_;
  std::string fallback_note_;
};

}  // namespace reactor
