// The micro-operations measured by reactord-micro and counted by reactord-opcount.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "reactor/buffer_pool.h"
#include "reactor/timer_wheel.h"
#include "reactor/write_queue.h"

namespace reactord::bench {

// Keeps a value alive for the optimizer without costing more than a register move.
template <typename T>
inline void keep(T const& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

// Deterministic, cheap and with a constant instruction count per call (callgrind counts it).
class XorShift {
 public:
  explicit XorShift(uint64_t seed) : x_(seed | 1) {}
  uint64_t next() {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 7;
    x_ ^= x_ << 17;
    return x_;
  }

 private:
  uint64_t x_;
};

// Each operation does its setup in the constructor; run() is one operation. The instruction
// count of run() must not depend on how many times it already ran, so reactord-opcount's
// two-point measurement (N1, N2 iterations) isolates it from setup and teardown.
class MicroOp {
 public:
  virtual ~MicroOp() = default;
  virtual void run() = 0;
};

// BufferPool acquire + release of one buffer (the per-read cost of the receive path).
class PoolAcquireRelease final : public MicroOp {
 public:
  PoolAcquireRelease();
  void run() override;

 private:
  reactor::BufferPool pool_;
};

// WriteQueue: append a copy of 1..3000 bytes, then gather the iovecs and consume a random
// part of the queue, as a partially successful sendmsg would.
class WqAppendFlush final : public MicroOp {
 public:
  WqAppendFlush();
  ~WqAppendFlush() override;
  void run() override;
  // The parts on their own, for the Google benchmarks.
  void append_copy(size_t n);
  void append_buffer(size_t n);
  void flush_random();
  void drain();

 private:
  reactor::BufferPool pool_;
  reactor::SliceArena arena_;
  reactor::WriteQueue wq_;
  std::vector<char> src_;
  XorShift rng_;
};

// TimerWheel: schedule a timer and cancel it, among a standing population of armed timers
// (the idle-timeout situation: most timers are re-armed or cancelled long before they fire).
class TimerAddCancel final : public MicroOp {
 public:
  static constexpr size_t kPopulation = 4096;
  TimerAddCancel();
  ~TimerAddCancel() override;
  void run() override;

 private:
  reactor::TimerWheel wheel_;
  std::unique_ptr<reactor::TimerNode[]> standing_;
  reactor::TimerNode node_;
  XorShift rng_;
};

// TimerWheel: schedule a timer one tick ahead and advance the wheel so that it fires.
class TimerExpire final : public MicroOp {
 public:
  TimerExpire();
  void run() override;
  // Batch variant: `n` timers spread over the next ~1000 ticks, then one advance past them.
  void run_batch(size_t n);
  uint64_t fired() const { return fired_; }

 private:
  static void on_fire(reactor::TimerNode* node);
  uint64_t now_ms_ = 0;
  reactor::TimerWheel wheel_;
  std::vector<std::unique_ptr<reactor::TimerNode>> nodes_;
  XorShift rng_;
  static uint64_t fired_;
};

// server/protocols/upper.h upper_ascii over a buffer of `size` bytes of mixed text.
class UpperOp final : public MicroOp {
 public:
  explicit UpperOp(size_t size);
  void run() override;
  size_t size() const { return buf_.size(); }

 private:
  // upper_ascii is branch-free, so its cost does not depend on the bytes: the buffer is not
  // restored between runs (that would add a memcpy to what is measured).
  std::vector<char> buf_;
};

// The names reactord-opcount accepts, in --list order, and a factory for them.
const std::vector<std::string_view>& micro_op_names();
std::unique_ptr<MicroOp> make_micro_op(std::string_view name);

}  // namespace reactord::bench
