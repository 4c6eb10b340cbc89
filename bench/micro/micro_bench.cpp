// reactord-micro: Google Benchmark timings of the reactor's hot-path building blocks.
#include <benchmark/benchmark.h>

#include "bench/micro/micro_ops.h"

namespace reactord::bench {
namespace {

void BM_PoolAcquireRelease(benchmark::State& state) {
  PoolAcquireRelease op;
  for (auto _ : state) op.run();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PoolAcquireRelease);

// Append by copy, then drain, per iteration: the reply path of a protocol that formats text.
void BM_WqAppendCopy(benchmark::State& state) {
  WqAppendFlush op;
  const auto n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    op.append_copy(n);
    op.drain();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_WqAppendCopy)->Arg(64)->Arg(1024)->Arg(16 * 1024);

// Append a filled pool buffer (zero copy above the pack threshold), then drain: echo's path.
void BM_WqAppendBuffer(benchmark::State& state) {
  WqAppendFlush op;
  const auto n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    op.append_buffer(n);
    op.drain();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_WqAppendBuffer)->Arg(64)->Arg(1024)->Arg(16 * 1024);

// Partial-flush bookkeeping: append 1..3000 bytes, gather, consume a random amount.
void BM_WqAppendPartialFlush(benchmark::State& state) {
  WqAppendFlush op;
  for (auto _ : state) op.run();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WqAppendPartialFlush);

void BM_TimerAddCancel(benchmark::State& state) {
  TimerAddCancel op;
  for (auto _ : state) op.run();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerAddCancel);

void BM_TimerExpireOne(benchmark::State& state) {
  TimerExpire op;
  for (auto _ : state) op.run();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerExpireOne);

// Many timers spread over ~1000 ticks expiring in one advance: per-timer cost of expiry.
void BM_TimerExpireBatch(benchmark::State& state) {
  TimerExpire op;
  const auto n = static_cast<size_t>(state.range(0));
  for (auto _ : state) op.run_batch(n);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_TimerExpireBatch)->Arg(64)->Arg(1024)->Arg(16384);

void BM_UpperAscii(benchmark::State& state) {
  UpperOp op(static_cast<size_t>(state.range(0)));
  for (auto _ : state) op.run();
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_UpperAscii)->Arg(16)->Arg(64)->Arg(1024)->Arg(16 * 1024)->Arg(256 * 1024);

}  // namespace
}  // namespace reactord::bench
