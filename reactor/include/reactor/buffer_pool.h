// Per-loop pool of fixed-size I/O buffers carved from large slabs; a free list, no malloc per read.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "reactor/thread_affinity.h"

namespace reactor {

class BufferPool;

// A move-only handle that owns one pool buffer and the filled range [begin, end) inside it.
// Destroying the handle returns the buffer to its pool. 16 bytes; passed by value.
class Buffer {
 public:
  Buffer() = default;
  Buffer(BufferPool* pool, uint32_t id, uint32_t begin, uint32_t end)
      : pool_(pool), id_(id), begin_(begin), end_(end) {}
  Buffer(Buffer&& o) noexcept : pool_(o.pool_), id_(o.id_), begin_(o.begin_), end_(o.end_) {
    o.pool_ = nullptr;
  }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { reset(); }

  explicit operator bool() const { return pool_ != nullptr; }
  char* data() const;  // first filled byte
  size_t size() const { return end_ - begin_; }
  uint32_t id() const { return id_; }
  uint32_t begin() const { return begin_; }
  uint32_t end() const { return end_; }
  void consume_front(size_t n) { begin_ += static_cast<uint32_t>(n); }
  void set_range(uint32_t begin, uint32_t end) {
    begin_ = begin;
    end_ = end;
  }
  void trim_back(size_t n) { end_ -= static_cast<uint32_t>(n); }
  void reset();
  // Gives up ownership without returning the buffer (the caller now owns `id`).
  uint32_t release() {
    pool_ = nullptr;
    return id_;
  }

 private:
  BufferPool* pool_ = nullptr;
  uint32_t id_ = 0;
  uint32_t begin_ = 0;
  uint32_t end_ = 0;
};

// Thread affinity: owned by one EventLoop; every method must run on that loop's thread.
//
// Layout: buffers are identified by a dense 16-bit-safe id. Slab k holds ids
// [k*kPerSlab, (k+1)*kPerSlab), each buffer_size bytes, page aligned. Ids, not pointers, travel
// through queues and completion tags, which is exactly what an io_uring provided-buffer ring
// wants (buffer id = ring bid), and what lets a ring take over a range of the pool unchanged.
class BufferPool {
 public:
  static constexpr uint32_t kInvalid = UINT32_MAX;
  static constexpr uint32_t kMaxBuffers = 1u << 16;  // io_uring bids are 16-bit

  // buffer_size: bytes per buffer (power of two recommended); max_buffers: hard cap, after
  // which acquire() fails (the caller pauses reading: a pool that can refuse is backpressure).
  explicit BufferPool(uint32_t buffer_size = 16 * 1024, uint32_t max_buffers = 16384,
                      uint32_t buffers_per_slab = 64);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  uint32_t buffer_size() const { return buffer_size_; }
  char* address(uint32_t id) const {
    return slabs_[id / per_slab_] + static_cast<size_t>(id % per_slab_) * buffer_size_;
  }

  // Returns kInvalid when the pool is at its cap.
  uint32_t acquire_id();
  Buffer acquire();  // empty handle (operator bool false) when the pool is at its cap
  void release_id(uint32_t id);
  // A buffer of a reserved run (the io_uring ring) was filled by the kernel and is now held
  // by the loop like an acquired one: it counts in held() until release_id().
  void adopt(uint32_t id) {
    (void)id;
    ++held_;
  }
  // Buffers out of the pool right now (acquired or adopted, not yet released): what the
  // loop's memory budget counts.
  size_t held() const { return held_; }

  // Gives the pages of free buffers back to the kernel (madvise), keeping the `keep` most
  // recently used ones warm; returns how many buffers were trimmed. The buffers stay in the
  // pool: the next use faults in zeroed pages. Nothing is tracked per buffer on the hot path,
  // so a trim covers every cold free buffer, trimmed before or not (cheap for those).
  size_t trim(size_t keep);
  size_t free_count() const { return free_.size(); }
  // Gives back the pages of buffers [id, id + count) (slabs are separate mappings: the range
  // is split at their boundaries). For buffers of a reserved run, whose owner knows them idle.
  void drop_pages(uint32_t id, uint32_t count);

  // Reserves `count` fresh buffer ids in one contiguous run for a provided-buffer ring; those
  // ids are then owned by the caller and come back through release_id() (which calls the hook).
  // Returns the first id or kInvalid.
  uint32_t reserve_run(uint32_t count);

  // Hook run by release_id() first: returning true means the hook took the buffer (an io_uring
  // backend hands it straight back to the kernel ring) and it does not enter the free list.
  void set_release_hook(std::function<bool(uint32_t)> hook) { release_hook_ = std::move(hook); }

  // Marks [first, first+count) as scarce (the io_uring provided-buffer ring): such buffers are
  // not parked in write queues behind a slow reader, they are copied out and given back.
  void set_scarce_run(uint32_t first, uint32_t count) {
    scarce_first_ = first;
    scarce_count_ = count;
  }
  bool is_scarce(uint32_t id) const { return id - scarce_first_ < scarce_count_; }

  size_t in_use() const { return allocated_ - free_.size(); }
  size_t allocated() const { return allocated_; }
  size_t max_buffers() const { return max_buffers_; }
  void bind_to_current_thread() { affinity_.bind_to_current(); }

 private:
  bool grow();

  uint32_t buffer_size_;
  uint32_t max_buffers_;
  uint32_t per_slab_;
  uint32_t allocated_ = 0;
  uint32_t held_ = 0;
  std::vector<char*> slabs_;
  std::vector<uint32_t> free_;  // LIFO: the most recently used buffer is the warmest in cache
  std::function<bool(uint32_t)> release_hook_;
  uint32_t scarce_first_ = 0;
  uint32_t scarce_count_ = 0;
  ThreadAffinity affinity_;
};

inline char* Buffer::data() const {
  return pool_->address(id_) + begin_;
}

inline void Buffer::reset() {
  if (pool_) {
    pool_->release_id(id_);
    pool_ = nullptr;
  }
}

inline Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = o.pool_;
    id_ = o.id_;
    begin_ = o.begin_;
    end_ = o.end_;
    o.pool_ = nullptr;
  }
  return *this;
}

inline uint32_t BufferPool::acquire_id() {
  affinity_.assert_owner();
  if (free_.empty() && !grow()) return kInvalid;
  uint32_t id = free_.back();
  free_.pop_back();
  ++held_;
  return id;
}

inline Buffer BufferPool::acquire() {
  uint32_t id = acquire_id();
  if (id == kInvalid) return Buffer();
  return Buffer(this, id, 0, 0);
}

inline void BufferPool::release_id(uint32_t id) {
  affinity_.assert_owner();
  --held_;
  if (release_hook_ && release_hook_(id)) return;
  free_.push_back(id);
}

}  // namespace reactor
