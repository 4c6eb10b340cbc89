// WriteQueue: order across random appends (copy and buffer), partial consumes at arbitrary
// offsets reproduce the exact stream, every buffer goes back to the pool, small appends pack
// into the tail, clear() releases everything.
#include "reactor/write_queue.h"

#include <gtest/gtest.h>
#include <sys/uio.h>

#include <cstring>
#include <random>
#include <string>

#include "tests/support/payload.h"

namespace {

using reactor::Buffer;
using reactor::BufferPool;
using reactor::SliceArena;
using reactor::WriteQueue;

// Simulates a kernel that accepts `k` bytes of a gathered write: copies them out of the
// iovecs (in order) and consumes them.
std::string take(WriteQueue& q, SliceArena& arena, size_t k, int max_iov = 64) {
  iovec iov[64];
  int n = q.gather(arena, iov, max_iov);
  std::string out;
  for (int i = 0; i < n && out.size() < k; ++i) {
    size_t len = iov[i].iov_len;
    if (len > k - out.size()) len = k - out.size();
    out.append(static_cast<const char*>(iov[i].iov_base), len);
  }
  q.consume(arena, out.size());
  return out;
}

size_t gathered_bytes(const WriteQueue& q, const SliceArena& arena, int max_iov) {
  iovec iov[64];
  int n = q.gather(arena, iov, max_iov);
  size_t total = 0;
  for (int i = 0; i < n; ++i) total += iov[i].iov_len;
  return total;
}

// A pool Buffer holding `data` at offset `begin` inside the buffer.
Buffer filled_buffer(BufferPool& pool, std::string_view data, uint32_t begin) {
  uint32_t id = pool.acquire_id();
  EXPECT_NE(id, BufferPool::kInvalid);
  memcpy(pool.address(id) + begin, data.data(), data.size());
  return Buffer(&pool, id, begin, begin + static_cast<uint32_t>(data.size()));
}

TEST(WriteQueue, RandomAppendsAndPartialConsumesReproduceStream) {
  // Small buffers so appends span many slices; 3000 buffers are plenty for the test.
  BufferPool pool(512, 3000, 32);
  SliceArena arena(pool);
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    WriteQueue q;
    const size_t baseline = pool.in_use();
    std::string expected, got;
    uint64_t seed = 1000 + round;
    for (int op = 0; op < 400; ++op) {
      int kind = static_cast<int>(rng() % 5);
      if (kind <= 1) {  // append by copy, 0..1500 bytes
        std::string data = rt::random_bytes(rng() % 1501, seed++);
        ASSERT_TRUE(q.append_copy(arena, data.data(), data.size()));
        expected += data;
      } else if (kind == 2) {  // append a pool buffer holding [begin, end)
        uint32_t begin = static_cast<uint32_t>(rng() % 256);
        size_t len = rng() % (512 - begin + 1);
        std::string data = rt::random_bytes(len, seed++);
        q.append_buffer(arena, filled_buffer(pool, data, begin));
        expected += data;
      } else {  // the kernel takes a random amount of what one gather offers
        int max_iov = 1 + static_cast<int>(rng() % 8);
        size_t offered = gathered_bytes(q, arena, max_iov);
        size_t k = offered == 0 ? 0 : rng() % (offered + 1);
        got += take(q, arena, k, max_iov);
      }
      ASSERT_EQ(q.bytes(), expected.size() - got.size());
      ASSERT_EQ(q.empty(), q.bytes() == 0);
    }
    while (!q.empty()) got += take(q, arena, 1 + rng() % 3000, 1 + static_cast<int>(rng() % 64));
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected) << "stream differs";
    EXPECT_EQ(q.slice_count(arena), 0u);
    EXPECT_EQ(pool.in_use(), baseline) << "buffers not returned to the pool";
  }
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(WriteQueue, ConsumeExactlyAtSliceBoundaries) {
  BufferPool pool(128, 64, 8);
  SliceArena arena(pool);
  WriteQueue q;
  std::string a = rt::random_bytes(128 * 3, 7);
  ASSERT_TRUE(q.append_copy(arena, a.data(), a.size()));
  EXPECT_EQ(q.slice_count(arena), 3u);
  EXPECT_EQ(pool.in_use(), 3u);
  EXPECT_EQ(take(q, arena, 128), a.substr(0, 128));
  EXPECT_EQ(q.slice_count(arena), 2u);
  EXPECT_EQ(pool.in_use(), 2u);  // a finished slice goes back at once
  EXPECT_EQ(take(q, arena, 127), a.substr(128, 127));
  EXPECT_EQ(pool.in_use(), 2u);
  EXPECT_EQ(take(q, arena, 1 + 128), a.substr(255));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.in_use(), 0u);
  // Usable again after draining to empty (tail reset).
  ASSERT_TRUE(q.append_copy(arena, "xyz", 3));
  EXPECT_EQ(take(q, arena, 3), "xyz");
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(WriteQueue, GatherRespectsMaxIov) {
  BufferPool pool(64, 64, 8);
  SliceArena arena(pool);
  WriteQueue q;
  std::string a = rt::random_bytes(64 * 10, 9);
  ASSERT_TRUE(q.append_copy(arena, a.data(), a.size()));
  iovec iov[64];
  EXPECT_EQ(q.gather(arena, iov, 4), 4);
  EXPECT_EQ(q.gather(arena, iov, 64), 10);
  EXPECT_EQ(std::string(static_cast<char*>(iov[9].iov_base), iov[9].iov_len), a.substr(576));
  q.clear(arena);
}

TEST(WriteQueue, SmallAppendsPackIntoTail) {
  BufferPool pool(16 * 1024, 64, 8);
  SliceArena arena(pool);
  WriteQueue q;
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    std::string s = "msg-" + std::to_string(i) + ";";
    ASSERT_TRUE(q.append_copy(arena, s.data(), s.size()));
    expected += s;
  }
  EXPECT_EQ(q.slice_count(arena), 1u);
  EXPECT_EQ(pool.in_use(), 1u);
  // A small filled buffer is copied into the tail's spare room and released at once.
  std::string small(100, 'q');
  q.append_buffer(arena, filled_buffer(pool, small, 40));
  expected += small;
  EXPECT_EQ(q.slice_count(arena), 1u);
  EXPECT_EQ(pool.in_use(), 1u);
  // A big one (>= kPackThreshold) is linked as is: zero copy.
  std::string big(WriteQueue::kPackThreshold, 'B');
  q.append_buffer(arena, filled_buffer(pool, big, 0));
  expected += big;
  EXPECT_EQ(q.slice_count(arena), 2u);
  EXPECT_EQ(pool.in_use(), 2u);
  // The linked buffer is a tail with room: a following small copy lands inside it.
  ASSERT_TRUE(q.append_copy(arena, "tail", 4));
  expected += "tail";
  EXPECT_EQ(q.slice_count(arena), 2u);
  // A small buffer that does not fit the tail's spare room is linked instead.
  BufferPool pool2(256, 64, 8);
  SliceArena arena2(pool2);
  WriteQueue q2;
  std::string fill(250, 'f');
  ASSERT_TRUE(q2.append_copy(arena2, fill.data(), fill.size()));
  q2.append_buffer(arena2, filled_buffer(pool2, std::string(10, 'g'), 0));
  EXPECT_EQ(q2.slice_count(arena2), 2u);
  EXPECT_EQ(take(q2, arena2, 260), fill + std::string(10, 'g'));
  EXPECT_EQ(pool2.in_use(), 0u);

  EXPECT_EQ(q.bytes(), expected.size());
  EXPECT_EQ(take(q, arena, expected.size()), expected);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(WriteQueue, EmptyBufferAppendIsDropped) {
  BufferPool pool(1024, 8, 4);
  SliceArena arena(pool);
  WriteQueue q;
  q.append_buffer(arena, pool.acquire());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.slice_count(arena), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(WriteQueue, ClearReleasesAll) {
  BufferPool pool(256, 200, 16);
  SliceArena arena(pool);
  WriteQueue q;
  std::string a = rt::random_bytes(5000, 3);
  ASSERT_TRUE(q.append_copy(arena, a.data(), a.size()));
  for (int i = 0; i < 10; ++i) q.append_buffer(arena, filled_buffer(pool, a.substr(0, 200), 50));
  take(q, arena, 777);
  EXPECT_GT(pool.in_use(), 10u);
  q.clear(arena);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.slice_count(arena), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  // The queue works after clear().
  ASSERT_TRUE(q.append_copy(arena, "again", 5));
  EXPECT_EQ(take(q, arena, 5), "again");
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(WriteQueue, AppendCopyAtPoolCapKeepsWhatFit) {
  BufferPool pool(256, 2, 2);
  SliceArena arena(pool);
  WriteQueue q;
  std::string a = rt::random_bytes(1000, 5);
  EXPECT_FALSE(q.append_copy(arena, a.data(), a.size()));
  EXPECT_EQ(q.bytes(), 512u);  // nothing past what fit
  EXPECT_EQ(take(q, arena, 512), a.substr(0, 512));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(WriteQueue, ArenaRecyclesNodes) {
  BufferPool pool(128, 64, 8);
  SliceArena arena(pool);
  WriteQueue q;
  for (int round = 0; round < 100; ++round) {
    std::string a = rt::random_bytes(128 * 4, round);
    ASSERT_TRUE(q.append_copy(arena, a.data(), a.size()));
    ASSERT_EQ(take(q, arena, a.size()), a);
  }
  EXPECT_LE(arena.capacity(), 4u);  // freed nodes are reused, not leaked
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
