// Debug-build check that an object is only touched from the thread that owns it.
#pragma once

#include <cassert>
#include <thread>

namespace reactor {

// Thread affinity: an owner thread is bound at construction or on first bind();
// assert_owner() aborts in debug builds when called from any other thread.
// Release builds compile it away: the check is for finding bugs, not for guarding.
class ThreadAffinity {
 public:
  ThreadAffinity() : owner_(std::this_thread::get_id()) {}
  void bind_to_current() { owner_ = std::this_thread::get_id(); }
  bool is_owner() const { return owner_ == std::this_thread::get_id(); }
  void assert_owner() const { assert(is_owner() && "touched from a thread that does not own it"); }

 private:
  std::thread::id owner_;
};

}  // namespace reactor
