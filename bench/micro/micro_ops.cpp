// Setup and the single operation of each micro-op, shared by reactord-micro and reactord-opcount.
#include "bench/micro/micro_ops.h"

#include "server/protocols/upper.h"

namespace reactord::bench {

// --- buffer pool ---

PoolAcquireRelease::PoolAcquireRelease() : pool_(16 * 1024, 1024) {
  // Warm: the first acquire maps a slab; steady state is a free-list pop and push.
  pool_.release_id(pool_.acquire_id());
}

void PoolAcquireRelease::run() {
  reactor::Buffer b = pool_.acquire();
  keep(b.id());
}

// --- write queue ---

WqAppendFlush::WqAppendFlush()
    : pool_(16 * 1024, 4096), arena_(pool_), src_(64 * 1024, 'x'), rng_(0x5eed0001) {
  // Warm the pool and the slice arena so the measured steady state never maps or grows.
  for (int i = 0; i < 64; ++i) append_copy(4000);
  drain();
}

WqAppendFlush::~WqAppendFlush() {
  wq_.clear(arena_);
}

void WqAppendFlush::append_copy(size_t n) {
  wq_.append_copy(arena_, src_.data(), n);
}

void WqAppendFlush::append_buffer(size_t n) {
  uint32_t id = pool_.acquire_id();
  wq_.append_buffer(arena_, reactor::Buffer(&pool_, id, 0, static_cast<uint32_t>(n)));
}

void WqAppendFlush::flush_random() {
  iovec iov[64];
  int cnt = wq_.gather(arena_, iov, 64);
  size_t total = 0;
  for (int i = 0; i < cnt; ++i) total += iov[i].iov_len;
  keep(iov);
  // What a non-blocking sendmsg might take: anything from nothing to all of it. The mean is
  // above the mean append, so the queue stays short, as on a healthy connection.
  size_t take = static_cast<size_t>(rng_.next() % 4000);
  if (take > total) take = total;
  wq_.consume(arena_, take);
}

void WqAppendFlush::drain() {
  wq_.consume(arena_, wq_.bytes());
}

void WqAppendFlush::run() {
  append_copy(1 + static_cast<size_t>(rng_.next() % 3000));
  flush_random();
}

// --- timers ---

TimerAddCancel::TimerAddCancel()
    : wheel_(0, 10), standing_(new reactor::TimerNode[kPopulation]), rng_(0x5eed0002) {
  for (size_t i = 0; i < kPopulation; ++i) wheel_.schedule(&standing_[i], 10 + rng_.next() % 10000);
}

TimerAddCancel::~TimerAddCancel() {
  node_.cancel();
}

void TimerAddCancel::run() {
  wheel_.schedule(&node_, 10 + rng_.next() % 60000);
  node_.cancel();
}

uint64_t TimerExpire::fired_ = 0;

TimerExpire::TimerExpire() : wheel_(0, 10), rng_(0x5eed0003) {
  nodes_.push_back(std::make_unique<reactor::TimerNode>(&TimerExpire::on_fire));
}

void TimerExpire::on_fire(reactor::TimerNode*) {
  ++fired_;
}

void TimerExpire::run() {
  wheel_.schedule(nodes_[0].get(), 10);
  now_ms_ += 10;
  wheel_.advance(now_ms_);
}

void TimerExpire::run_batch(size_t n) {
  while (nodes_.size() < n)
    nodes_.push_back(std::make_unique<reactor::TimerNode>(&TimerExpire::on_fire));
  for (size_t i = 0; i < n; ++i) wheel_.schedule(nodes_[i].get(), 10 + rng_.next() % 10000);
  now_ms_ += 10010;
  wheel_.advance(now_ms_);
}

// --- upper ---

UpperOp::UpperOp(size_t size) : buf_(size) {
  XorShift rng(0x5eed0004);
  for (char& c : buf_) {
    uint64_t r = rng.next();
    c = static_cast<char>((r & 3) ? 'a' + (r >> 8) % 26 : 0x20 + (r >> 8) % 95);
  }
}

void UpperOp::run() {
  reactord::upper_ascii(buf_.data(), buf_.size());
  keep(buf_.data());
}

// --- registry ---

const std::vector<std::string_view>& micro_op_names() {
  static const std::vector<std::string_view> kNames = {
      "pool_acquire_release", "wq_append_flush", "timer_add_cancel",
      "timer_expire",         "upper_64B",       "upper_16KiB"};
  return kNames;
}

std::unique_ptr<MicroOp> make_micro_op(std::string_view name) {
  if (name == "pool_acquire_release") return std::make_unique<PoolAcquireRelease>();
  if (name == "wq_append_flush") return std::make_unique<WqAppendFlush>();
  if (name == "timer_add_cancel") return std::make_unique<TimerAddCancel>();
  if (name == "timer_expire") return std::make_unique<TimerExpire>();
  if (name == "upper_64B") return std::make_unique<UpperOp>(64);
  if (name == "upper_16KiB") return std::make_unique<UpperOp>(16 * 1024);
  return nullptr;
}

}  // namespace reactord::bench
