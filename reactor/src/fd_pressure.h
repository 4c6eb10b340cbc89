// Out of descriptors: process-wide coordination of the spare-descriptor trick across loops.
#pragma once

#include <cstddef>
#include <cstdint>

namespace reactor::fd_pressure {

// Under EMFILE a loop sheds a waiting newcomer by closing a spare descriptor, accepting into
// the freed slot and closing the newcomer. Another loop's accept in that instant takes the
// slot instead (it is the lowest free number). So while any loop has seen EMFILE recently,
// every user-space accept in the process goes through one lock with the trick (io_uring loops
// switch from multishot accepts to poll + accept for that time). A kernel-side accept armed
// before that can still take the slot: the spare is lost and the stealing loop holds a new
// connection. The spares are therefore one pool for the whole process (one per loop), and
// the loop that accepted while the pool is short turns that connection back into a spare
// (keep_accepted), so no loop is left unable to shed its newcomers.
//
// Thread affinity: any thread.
bool active(uint64_t now_ms);  // some loop saw EMFILE/ENFILE in the last second
void note(uint64_t now_ms);
// A loop starts (the pool should hold one more spare) or ends (one fewer).
void add_spare();
void remove_spare();
// Under EMFILE on listen_fd: 1 if the connection at the head of its queue was accepted and
// closed, 0 if the queue was empty, -1 if the process has no spare left to do it with.
int shed(int listen_fd, uint64_t now_ms);
// For each descriptor accepted while active(): false if it was closed to refill the pool.
bool keep_accepted(int fd);
size_t spares();  // spares held now (tests)
// accept4 under the pool's lock; returns the fd or -1 with errno set.
int accept_serialized(int listen_fd, int flags);

}  // namespace reactor::fd_pressure
