// Slab allocation for BufferPool: slabs are mmap'd so buffers are page aligned and untouched
// pages cost no RSS until first use.
#include "reactor/buffer_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <stdexcept>

namespace reactor {

BufferPool::BufferPool(uint32_t buffer_size, uint32_t max_buffers, uint32_t buffers_per_slab)
    : buffer_size_(buffer_size),
      max_buffers_(max_buffers > kMaxBuffers ? kMaxBuffers : max_buffers),
      per_slab_(buffers_per_slab == 0 ? 1 : buffers_per_slab) {
  if (buffer_size_ == 0) throw std::invalid_argument("BufferPool: buffer_size must be > 0");
  slabs_.reserve((max_buffers_ + per_slab_ - 1) / per_slab_);

  free_.reserve(per_slab_);
}

BufferPool::~BufferPool() {
  for (char* slab : slabs_) munmap(slab, static_cast<size_t>(per_slab_) * buffer_size_);
}

bool BufferPool::grow() {
  if (allocated_ >= max_buffers_) return false;
  size_t bytes = static_cast<size_t>(per_slab_) * buffer_size_;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  slabs_.push_back(static_cast<char*>(mem));
  uint32_t first = allocated_;
  uint32_t count = per_slab_;
  if (first + count > max_buffers_) count = max_buffers_ - first;
  allocated_ += per_slab_;  // ids past the cap in the last slab are simply never handed out
  free_.reserve(free_.size() + count);
  // Push in reverse so acquire() hands out ascending ids (nicer to debug).
  for (uint32_t i = count; i-- > 0;) free_.push_back(first + i);
  if (allocated_ > max_buffers_) allocated_ = max_buffers_;
  return true;
}

size_t BufferPool::trim(size_t keep) {
  affinity_.assert_owner();
  if (free_.size() <= keep) return 0;
  // free_ is LIFO: the front holds the buffers unused for longest.
  std::vector<uint32_t> cold(free_.begin(), free_.end() - static_cast<std::ptrdiff_t>(keep));
  std::sort(cold.begin(), cold.end());
  // One madvise per run of adjacent buffers (drop_pages splits it at slab boundaries).
  for (size_t i = 0; i < cold.size();) {
    size_t j = i + 1;
    while (j < cold.size() && cold[j] == cold[j - 1] + 1) ++j;
    drop_pages(cold[i], static_cast<uint32_t>(j - i));
    i = j;
  }
  return cold.size();
}

void BufferPool::drop_pages(uint32_t id, uint32_t count) {
  while (count > 0) {
    uint32_t in_slab = per_slab_ - id % per_slab_;
    uint32_t n = count < in_slab ? count : in_slab;
    madvise(address(id), static_cast<size_t>(n) * buffer_size_, MADV_DONTNEED);
    id += n;
    count -= n;
  }
}

uint32_t BufferPool::reserve_run(uint32_t count) {
  affinity_.assert_owner();
  // A run must lie inside fresh slabs so the ids are contiguous and none is in use.
  uint32_t first = allocated_;
  if (count == 0 || first + count > max_buffers_) return kInvalid;
  size_t free_before = free_.size();
  while (allocated_ < first + count) {
    if (!grow()) return kInvalid;
  }
  // Take the run's ids back out of the free list; keep any slab remainder free.
  std::vector<uint32_t> keep;
  keep.reserve(free_.size() - free_before);
  for (size_t i = free_before; i < free_.size(); ++i) {
    if (free_[i] >= first + count) keep.push_back(free_[i]);
  }
  free_.resize(free_before);
  free_.insert(free_.end(), keep.begin(), keep.end());
  return first;
}

}  // namespace reactor
