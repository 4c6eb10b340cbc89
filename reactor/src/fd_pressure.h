// Out of descriptors: process-wide coordination of the spare-descriptor trick across loops.
#pragma once

#include <cstdint>
#include <mutex>

namespace reactor::fd_pressure {

// Under EMFILE a loop sheds a waiting newcomer by closing its spare descriptor, accepting
// into the freed slot and closing the newcomer. Another loop's accept in that instant takes
// the slot instead (it is the lowest free number), and the first loop has lost its spare:
// with every loop spare-less, newcomers hang until something closes. So while any loop has
// seen EMFILE recently, every accept in the process goes through one lock with the trick
// (io_uring loops switch from multishot accepts to poll + accept for that time).
//
// Thread affinity: any thread.
bool active(uint64_t now_ms);  // some loop saw EMFILE/ENFILE in the last second
void note(uint64_t now_ms);
std::mutex& lock();
// accept4 under lock(); returns the fd or -1 with errno set.
int accept_serialized(int listen_fd, int flags);

}  // namespace reactor::fd_pressure
