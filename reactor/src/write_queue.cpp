// WriteQueue: append by link or copy, gather into iovecs, consume what the kernel took.
#include "reactor/write_queue.h"

#include <cstring>

namespace reactor {

void WriteQueue::link(SliceArena& arena, uint32_t node) {
  arena[node].next = SliceArena::kNil;
  if (tail_ == SliceArena::kNil) {
    head_ = tail_ = node;
  } else {
    arena[tail_].next = node;
    tail_ = node;
  }
}

bool WriteQueue::append_copy(SliceArena& arena, const char* data, size_t len) {
  BufferPool& pool = arena.pool();
  const uint32_t cap = pool.buffer_size();
  while (len > 0) {
    if (tail_ != SliceArena::kNil && arena[tail_].end < cap) {
      Slice& t = arena[tail_];
      size_t n = cap - t.end;
      if (n > len) n = len;
      memcpy(pool.address(t.buf) + t.end, data, n);
      t.end += static_cast<uint32_t>(n);
      bytes_ += n;
      data += n;
      len -= n;
      continue;
    }
    uint32_t id = pool.acquire_id();
    if (id == BufferPool::kInvalid) return false;
    uint32_t node = arena.alloc();
    arena[node].buf = id;
    arena[node].begin = 0;
    arena[node].end = 0;
    link(arena, node);
  }
  return true;
}

void WriteQueue::append_buffer(SliceArena& arena, Buffer&& buf) {
  size_t len = buf.size();
  if (len == 0) {
    buf.reset();
    return;
  }
  if (len < kPackThreshold && tail_ != SliceArena::kNil &&
      arena.pool().buffer_size() - arena[tail_].end >= len) {
    Slice& t = arena[tail_];
    memcpy(arena.pool().address(t.buf) + t.end, buf.data(), len);
    t.end += static_cast<uint32_t>(len);
    bytes_ += len;
    buf.reset();
    return;
  }
  uint32_t node = arena.alloc();
  arena[node].begin = buf.begin();
  arena[node].end = buf.end();
  arena[node].buf = buf.release();
  link(arena, node);
  bytes_ += len;
}

int WriteQueue::gather(const SliceArena& arena, iovec* iov, int max_iov) const {
  int n = 0;
  const BufferPool& pool = arena.pool();
  for (uint32_t i = head_; i != SliceArena::kNil && n < max_iov; i = arena[i].next) {
    const Slice& s = arena[i];
    iov[n].iov_base = pool.address(s.buf) + s.begin;
    iov[n].iov_len = s.end - s.begin;
    ++n;
  }
  return n;
}

void WriteQueue::consume(SliceArena& arena, size_t n) {
  bytes_ -= n;
  while (n > 0) {
    Slice& s = arena[head_];
    size_t len = s.end - s.begin;
    if (n < len) {
      s.begin += static_cast<uint32_t>(n);
      return;
    }
    n -= len;
    uint32_t next = s.next;
    arena.pool().release_id(s.buf);
    arena.free(head_);
    head_ = next;
  }
  if (head_ == SliceArena::kNil) tail_ = SliceArena::kNil;
}

int WriteQueue::copy_out_scarce(SliceArena& arena) {
  BufferPool& pool = arena.pool();
  int moved = 0;
  for (uint32_t i = head_; i != SliceArena::kNil; i = arena[i].next) {
    Slice& s = arena[i];
    if (!pool.is_scarce(s.buf)) continue;
    uint32_t id = pool.acquire_id();
    if (id == BufferPool::kInvalid) return -1;
    memcpy(pool.address(id) + s.begin, pool.address(s.buf) + s.begin, s.end - s.begin);
    pool.release_id(s.buf);
    s.buf = id;
    ++moved;
  }
  return moved;
}

void WriteQueue::clear(SliceArena& arena) {
  while (head_ != SliceArena::kNil) {
    uint32_t next = arena[head_].next;
    arena.pool().release_id(arena[head_].buf);
    arena.free(head_);
    head_ = next;
  }
  tail_ = SliceArena::kNil;
  bytes_ = 0;
}

size_t WriteQueue::slice_count(const SliceArena& arena) const {
  size_t n = 0;
  for (uint32_t i = head_; i != SliceArena::kNil; i = arena[i].next) ++n;
  return n;
}

}  // namespace reactor
