// Chat example: delivery under the queue rule, and cross-loop fan-out through post().
#include "room.h"

#include "reactor/event_loop.h"

namespace chat {

static Member& member(reactor::Connection& c) {
  return *static_cast<Member*>(c.user());
}

void Room::join(reactor::Connection& c) {
  member(c).index = members_.size();
  members_.push_back(&c);
}

void Room::leave(reactor::Connection& c) {
  size_t i = member(c).index;
  members_[i] = members_.back();
  member(*members_[i]).index = i;
  members_.pop_back();
}

void Room::deliver(const std::string& line) {
  for (reactor::Connection* c : members_) {
    if (!c->is_open()) continue;  // closing: it gets nothing new
    Member& m = member(*c);
    if (c->queued_bytes() > max_queue_) {
      ++m.dropped;
      continue;
    }
    if (m.dropped > 0) {
      c->send("* dropped " + std::to_string(m.dropped) + " lines\n");
      m.dropped = 0;
    }
    c->send(line);
  }
}

Hub::Hub(reactor::LoopGroup& group, size_t loops, uint64_t max_queue) : group_(group) {
  for (size_t i = 0; i < loops; ++i) rooms_.push_back(std::make_unique<Room>(max_queue));
}

void Hub::publish(size_t from_loop, std::string line) {
  // One immutable copy shared by every loop; the last task to run frees it.
  auto shared = std::make_shared<const std::string>(std::move(line));
  for (size_t i = 0; i < rooms_.size(); ++i) {
    if (i == from_loop) continue;
    Room* room = rooms_[i].get();
    group_.loop(i).post([room, shared](reactor::EventLoop&) { room->deliver(*shared); });
  }
  rooms_[from_loop]->deliver(*shared);
}

}  // namespace chat
