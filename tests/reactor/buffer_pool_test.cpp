// BufferPool: counts, id uniqueness, the cap and recovery, reserve_run, the release hook, and
// the slab layout (distinct addresses, buffer_size apart within a slab).
#include "reactor/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

namespace {

using reactor::Buffer;
using reactor::BufferPool;

TEST(BufferPool, AcquireReleaseCounts) {
  BufferPool pool(4096, 100, 8);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.allocated(), 0u);  // lazily grown
  std::vector<uint32_t> ids;
  for (int i = 0; i < 20; ++i) {
    uint32_t id = pool.acquire_id();
    ASSERT_NE(id, BufferPool::kInvalid);
    ids.push_back(id);
    EXPECT_EQ(pool.in_use(), static_cast<size_t>(i + 1));
  }
  EXPECT_EQ(pool.allocated(), 24u);  // three slabs of 8
  for (size_t i = 0; i < ids.size(); ++i) {
    pool.release_id(ids[i]);
    EXPECT_EQ(pool.in_use(), ids.size() - i - 1);
  }
  EXPECT_EQ(pool.allocated(), 24u);  // slabs are kept
}

TEST(BufferPool, IdsUnique) {
  BufferPool pool(1024, 1000, 16);
  std::set<uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    uint32_t id = pool.acquire_id();
    ASSERT_NE(id, BufferPool::kInvalid) << "at " << i;
    EXPECT_TRUE(seen.insert(id).second) << "id " << id << " handed out twice";
    EXPECT_LT(id, 1000u);
  }
  // Release half, re-acquire: still never a duplicate of a held id.
  std::vector<uint32_t> held(seen.begin(), seen.end());
  for (size_t i = 0; i < held.size(); i += 2) {
    pool.release_id(held[i]);
    seen.erase(held[i]);
  }
  for (int i = 0; i < 500; ++i) {
    uint32_t id = pool.acquire_id();
    ASSERT_NE(id, BufferPool::kInvalid);
    EXPECT_TRUE(seen.insert(id).second) << "id " << id << " handed out twice";
  }
  EXPECT_EQ(pool.in_use(), 1000u);
}

TEST(BufferPool, CapRespectedAndRecovers) {
  // 10 is not a multiple of the slab size: the last slab is only partly usable.
  BufferPool pool(512, 10, 4);
  EXPECT_EQ(pool.max_buffers(), 10u);
  std::vector<uint32_t> ids;
  for (int i = 0; i < 10; ++i) {
    uint32_t id = pool.acquire_id();
    ASSERT_NE(id, BufferPool::kInvalid) << "at " << i;
    ids.push_back(id);
  }
  EXPECT_EQ(pool.in_use(), 10u);
  EXPECT_EQ(pool.acquire_id(), BufferPool::kInvalid);
  Buffer b = pool.acquire();
  EXPECT_FALSE(b);
  EXPECT_EQ(pool.in_use(), 10u);
  pool.release_id(ids[3]);
  EXPECT_EQ(pool.in_use(), 9u);
  uint32_t again = pool.acquire_id();
  EXPECT_EQ(again, ids[3]);  // LIFO free list
  EXPECT_EQ(pool.acquire_id(), BufferPool::kInvalid);
  for (uint32_t id : ids) pool.release_id(id);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferPool, CapClampedToSixteenBitIds) {
  BufferPool pool(64, 1u << 20, 1024);
  EXPECT_EQ(pool.max_buffers(), BufferPool::kMaxBuffers);
}

TEST(BufferPool, ZeroBufferSizeThrows) {
  EXPECT_THROW(BufferPool(0, 10, 4), std::invalid_argument);
}

TEST(BufferPool, BufferHandleReturnsOnDestruction) {
  BufferPool pool(256, 8, 4);
  {
    Buffer b = pool.acquire();
    ASSERT_TRUE(b);
    EXPECT_EQ(b.size(), 0u);
    EXPECT_EQ(pool.in_use(), 1u);
    Buffer moved = std::move(b);
    EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    EXPECT_TRUE(moved);
    EXPECT_EQ(pool.in_use(), 1u);
    Buffer other = pool.acquire();
    EXPECT_EQ(pool.in_use(), 2u);
    other = std::move(moved);  // other's own buffer goes back
    EXPECT_EQ(pool.in_use(), 1u);
  }
  EXPECT_EQ(pool.in_use(), 0u);
  Buffer c = pool.acquire();
  uint32_t id = c.release();  // ownership leaves the handle
  EXPECT_FALSE(c);
  EXPECT_EQ(pool.in_use(), 1u);
  pool.release_id(id);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferPool, BufferRangeAccessors) {
  BufferPool pool(256, 8, 4);
  uint32_t id = pool.acquire_id();
  memcpy(pool.address(id), "0123456789", 10);
  Buffer b(&pool, id, 2, 8);
  EXPECT_EQ(b.size(), 6u);
  EXPECT_EQ(std::string(b.data(), b.size()), "234567");
  b.consume_front(1);
  b.trim_back(2);
  EXPECT_EQ(std::string(b.data(), b.size()), "345");
  EXPECT_EQ(b.begin(), 3u);
  EXPECT_EQ(b.end(), 6u);
  b.reset();
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferPool, AddressesDistinctAndBufferSizeApartWithinSlab) {
  constexpr uint32_t kSize = 2048, kPerSlab = 8, kMax = 40;
  BufferPool pool(kSize, kMax, kPerSlab);
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < kMax; ++i) ids.push_back(pool.acquire_id());
  std::set<char*> addrs;
  for (uint32_t id : ids) {
    char* a = pool.address(id);
    EXPECT_TRUE(addrs.insert(a).second);
    // No two buffers overlap: every other buffer starts at least kSize away.
    for (char* other : addrs) {
      if (other == a) continue;
      EXPECT_GE(a > other ? static_cast<size_t>(a - other) : static_cast<size_t>(other - a), kSize);
    }
  }
  for (uint32_t id = 0; id < kMax; ++id) {
    if (id % kPerSlab != kPerSlab - 1) {
      EXPECT_EQ(pool.address(id + 1) - pool.address(id), static_cast<ptrdiff_t>(kSize))
          << "ids " << id << " and " << id + 1 << " share a slab";
    }
    // Slabs are mmap'd: page aligned.
    if (id % kPerSlab == 0) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(pool.address(id)) % 4096, 0u);
    }
  }
  // Every byte of every buffer is writable and independent.
  for (uint32_t id : ids) memset(pool.address(id), static_cast<int>(id), kSize);
  for (uint32_t id : ids) {
    const char* a = pool.address(id);
    EXPECT_EQ(a[0], static_cast<char>(id));
    EXPECT_EQ(a[kSize - 1], static_cast<char>(id));
  }
}

TEST(BufferPool, ReserveRunIsContiguousAndOwned) {
  BufferPool pool(1024, 256, 16);
  // Some buffers in use first, so the run must come from fresh slabs.
  std::vector<uint32_t> before;
  for (int i = 0; i < 5; ++i) before.push_back(pool.acquire_id());
  uint32_t first = pool.reserve_run(40);
  ASSERT_NE(first, BufferPool::kInvalid);
  EXPECT_EQ(first, 16u);  // the first slab (0..15) was already carved
  // Run ids are contiguous and their buffers contiguous within each slab.
  for (uint32_t id = first; id + 1 < first + 40; ++id) {
    if ((id + 1) % 16 != 0) {
      EXPECT_EQ(pool.address(id + 1) - pool.address(id), 1024);
    }
  }
  size_t in_use_after_run = pool.in_use();
  EXPECT_EQ(in_use_after_run, 5u + 40u);  // the run is owned by the caller
  // Plain acquisitions never hand out a run id.
  std::set<uint32_t> got;
  for (;;) {
    uint32_t id = pool.acquire_id();
    if (id == BufferPool::kInvalid) break;
    EXPECT_TRUE(id < first || id >= first + 40) << "run id " << id << " handed out";
    EXPECT_TRUE(got.insert(id).second);
  }
  EXPECT_EQ(got.size(), 256u - 5u - 40u);
  EXPECT_EQ(pool.in_use(), 256u);
  EXPECT_EQ(pool.reserve_run(1), BufferPool::kInvalid);  // at the cap
}

TEST(BufferPool, ReserveRunRefusesPastCap) {
  BufferPool pool(512, 64, 16);
  EXPECT_EQ(pool.reserve_run(0), BufferPool::kInvalid);
  EXPECT_EQ(pool.reserve_run(65), BufferPool::kInvalid);
  EXPECT_EQ(pool.in_use(), 0u);
  uint32_t first = pool.reserve_run(64);
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(pool.acquire_id(), BufferPool::kInvalid);
}

TEST(BufferPool, ReleaseHookDivertsBuffers) {
  BufferPool pool(1024, 128, 16);
  uint32_t first = pool.reserve_run(16);
  ASSERT_NE(first, BufferPool::kInvalid);
  std::vector<uint32_t> diverted;
  pool.set_release_hook([&](uint32_t id) {
    if (id >= first && id < first + 16) {
      diverted.push_back(id);
      return true;  // taken: back to the "ring", not the free list
    }
    return false;
  });
  uint32_t plain = pool.acquire_id();
  ASSERT_NE(plain, BufferPool::kInvalid);
  EXPECT_FALSE(plain >= first && plain < first + 16);
  size_t in_use = pool.in_use();
  pool.release_id(first + 3);
  pool.release_id(first + 7);
  EXPECT_EQ(diverted, (std::vector<uint32_t>{first + 3, first + 7}));
  EXPECT_EQ(pool.in_use(), in_use);  // diverted buffers never entered the free list
  pool.release_id(plain);
  EXPECT_EQ(pool.in_use(), in_use - 1);
  EXPECT_EQ(diverted.size(), 2u);
  // A Buffer handle over a run id is diverted the same way when it dies.
  { Buffer b(&pool, first + 9, 0, 10); }
  EXPECT_EQ(diverted.back(), first + 9);
  // The diverted ids never come out of acquire().
  for (;;) {
    uint32_t id = pool.acquire_id();
    if (id == BufferPool::kInvalid) break;
    EXPECT_FALSE(id >= first && id < first + 16) << "diverted id " << id << " reused";
  }
}

}  // namespace
