// Chat example: one loop's members, the bounded-queue rule, and the fan-out across loops.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reactor/connection.h"
#include "reactor/loop_group.h"

namespace chat {

// Per-connection state, hung off Connection::user() and freed in on_close.
struct Member {
  std::string id;        // "LOOP.N": unique across loops
  std::string partial;   // an unfinished line, at most the server's --max-line bytes
  uint64_t dropped = 0;  // lines not queued for this member since its last notice
  size_t index = 0;      // position in its Room
};

// Thread affinity: one Room per loop, touched only on that loop's thread; other loops reach
// it through EventLoop::post, addressed by loop index (Hub).
//
// The queue rule: a line is queued for a member only while the member's write queue holds at
// most `max_queue` bytes. Otherwise the line is dropped for that member and counted, and the
// next line the member does get is preceded by "* dropped N lines". So a member's queue never
// holds more than max_queue bytes plus one notice and one line, however slowly it reads, and
// a slow member never slows the others down.
class Room {
 public:
  explicit Room(uint64_t max_queue) : max_queue_(max_queue) {}
  void join(reactor::Connection& c);
  void leave(reactor::Connection& c);
  void deliver(const std::string& line);  // `line` ends in '\n'

 private:
  uint64_t max_queue_;
  std::vector<reactor::Connection*> members_;  // never leave this loop's thread
};

// Fan-out: the loop that read a line delivers it to its own room at once and posts it to
// every other loop, which delivers it to its room. Each loop's task queue runs in order, so
// every member sees one sender's lines in the order they were sent (lines of different
// senders may interleave differently on different loops).
//
// Thread affinity: the rooms are created before LoopGroup::start and never change after, so
// publish() may run on any loop thread; each room is only touched by its own loop.
class Hub {
 public:
  Hub(reactor::LoopGroup& group, size_t loops, uint64_t max_queue);
  Room& room(size_t loop) { return *rooms_[loop]; }
  size_t loops() const { return rooms_.size(); }
  void publish(size_t from_loop, std::string line);

 private:
  reactor::LoopGroup& group_;
  std::vector<std::unique_ptr<Room>> rooms_;
};

}  // namespace chat
