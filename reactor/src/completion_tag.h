// The one encoding of completion tags (io_uring user_data, epoll data.u64): op | generation |
// index, with every width in this file.
#pragma once

#include <cstdint>

namespace reactor {

// A tag names what a completion is for: an operation kind chosen by the backend, the
// generation of the connection slot it was issued for, and an index (connection slot,
// listener or watcher index). The generation is what makes a completion for a slot that has
// since been reused recognisable; connection generations therefore live in the same width
// (Connection::gen_ is always masked with kGenMask), and every comparison is between two
// masked values: there is no second, wider copy that could disagree after a wrap.
//
//   63        56 55                      32 31                              0
//   +-----------+--------------------------+---------------------------------+
//   |  op (8)   |    generation (24)       |         index (32)              |
//   +-----------+--------------------------+---------------------------------+
//
// A generation wraps after 2^24 reuses of one slot. That is harmless: a completion can only
// be stale while an operation is still in flight for the old connection, and a slot is not
// reused until its in-flight operations are done (io_uring counts them; epoll has none across
// a turn), so a tag can never be confused with one 2^24 generations older.
struct CompletionTag {
  static constexpr int kOpBits = 8;
  static constexpr int kGenBits = 24;
  static constexpr int kIndexBits = 32;
  static constexpr uint32_t kGenMask = (1u << kGenBits) - 1;
  static constexpr uint32_t kOpMask = (1u << kOpBits) - 1;

  static constexpr uint64_t make(uint32_t op, uint32_t gen, uint32_t index) {
    return (static_cast<uint64_t>(op & kOpMask) << (kGenBits + kIndexBits)) |
           (static_cast<uint64_t>(gen & kGenMask) << kIndexBits) | index;
  }
  static constexpr uint32_t op(uint64_t tag) {
    return static_cast<uint32_t>(tag >> (kGenBits + kIndexBits)) & kOpMask;
  }
  static constexpr uint32_t gen(uint64_t tag) {
    return static_cast<uint32_t>(tag >> kIndexBits) & kGenMask;
  }
  static constexpr uint32_t index(uint64_t tag) { return static_cast<uint32_t>(tag); }
  // The generation after `gen`, in the tag's width.
  static constexpr uint32_t next_gen(uint32_t gen) { return (gen + 1) & kGenMask; }
};

static_assert(CompletionTag::kOpBits + CompletionTag::kGenBits + CompletionTag::kIndexBits == 64);
static_assert(CompletionTag::gen(CompletionTag::make(3, 0xffffffffu, 7)) ==
              CompletionTag::kGenMask);
static_assert(CompletionTag::next_gen(CompletionTag::kGenMask) == 0);

}  // namespace reactor
