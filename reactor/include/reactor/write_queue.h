// Per-connection write queue with sendall semantics: an ordered chain of pool-buffer slices.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "reactor/buffer_pool.h"

namespace reactor {

// One queued run of bytes: [begin, end) of pool buffer `buf`. Nodes live in a per-loop arena
// and link by index, so an idle connection's queue is two indices and a byte count.
struct Slice {
  uint32_t next;
  uint32_t buf;
  uint32_t begin;
  uint32_t end;
};

// Thread affinity: per loop, like the BufferPool it draws from.
class SliceArena {
 public:
  static constexpr uint32_t kNil = UINT32_MAX;
  explicit SliceArena(BufferPool& pool) : pool_(&pool) {}
  uint32_t alloc() {
    if (free_ == kNil) {
      nodes_.push_back(Slice{kNil, 0, 0, 0});
      return static_cast<uint32_t>(nodes_.size() - 1);
    }
    uint32_t i = free_;
    free_ = nodes_[i].next;
    return i;
  }
  void free(uint32_t i) {
    nodes_[i].next = free_;
    free_ = i;
  }
  Slice& operator[](uint32_t i) { return nodes_[i]; }
  const Slice& operator[](uint32_t i) const { return nodes_[i]; }
  BufferPool& pool() const { return *pool_; }
  size_t capacity() const { return nodes_.size(); }

 private:
  BufferPool* pool_;
  std::vector<Slice> nodes_;
  uint32_t free_ = kNil;
};

// The queue never drops a byte: append() either links the caller's buffer or copies into pool
// buffers; consume(n) is called with what the kernel actually took and releases finished
// buffers in order. Flow control (watermarks) is the Connection's job; the queue only counts.
class WriteQueue {
 public:
  // Bytes appended by copy smaller than this are packed into the tail buffer's spare room
  // instead of linking a mostly-empty buffer (keeps iovec counts and memory low).
  static constexpr size_t kPackThreshold = 2048;

  WriteQueue() = default;
  bool empty() const { return bytes_ == 0; }
  uint64_t bytes() const { return bytes_; }

  // Appends a copy of [data, data+len). Returns false only if the pool is exhausted, in
  // which case nothing was appended past what fit (the caller treats it as fatal overload).
  bool append_copy(SliceArena& arena, const char* data, size_t len);
  // Takes ownership of a filled buffer; small ones are copied into the tail when they fit.
  void append_buffer(SliceArena& arena, Buffer&& buf);

  // Fills up to max_iov iovecs from the head; returns the count.
  int gather(const SliceArena& arena, iovec* iov, int max_iov) const;
  // Drops n bytes from the head (what the kernel accepted).
  void consume(SliceArena& arena, size_t n);
  // Pool buffer id of the first queued slice, or BufferPool::kInvalid when empty.
  uint32_t head_buffer(const SliceArena& arena) const {
    return head_ == SliceArena::kNil ? BufferPool::kInvalid : arena[head_].buf;
  }
  // Moves every slice that sits in a scarce buffer (the io_uring receive ring) into ordinary
  // pool buffers, so a peer that does not read never holds a ring buffer. Must not run while
  // a send is reading the queue. Returns the number of buffers moved, or -1 if the pool had
  // none to give (the queue is unchanged from that slice on).
  int copy_out_scarce(SliceArena& arena);
  // Releases everything (connection aborted).
  void clear(SliceArena& arena);
  size_t slice_count(const SliceArena& arena) const;

 private:
  void link(SliceArena& arena, uint32_t node);

  uint32_t head_ = SliceArena::kNil;
  uint32_t tail_ = SliceArena::kNil;
  uint64_t bytes_ = 0;
};

}  // namespace reactor
