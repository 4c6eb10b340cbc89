// The process-wide spare-descriptor pool (reactor/src/fd_pressure.h) at the descriptor limit.
// Each case runs in a child process: it lowers RLIMIT_NOFILE and fills the descriptor table.
#include "reactor/src/fd_pressure.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

namespace fdp = reactor::fd_pressure;

// Child-side checks: print what failed and exit non-zero (gtest asserts do not cross fork).
#define CHILD_CHECK(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      _exit(1);                                                                \
    }                                                                          \
  } while (0)

struct Net {
  int listener = -1;
  sockaddr_in addr{};
};

Net listen_loopback() {
  Net n;
  n.listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);  // as servers do
  n.addr.sin_family = AF_INET;
  n.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof n.addr;
  CHILD_CHECK(bind(n.listener, reinterpret_cast<sockaddr*>(&n.addr), len) == 0);
  CHILD_CHECK(listen(n.listener, 16) == 0);
  CHILD_CHECK(getsockname(n.listener, reinterpret_cast<sockaddr*>(&n.addr), &len) == 0);
  return n;
}

int connect_to(const Net& n) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHILD_CHECK(connect(fd, reinterpret_cast<const sockaddr*>(&n.addr), sizeof n.addr) == 0);
  return fd;
}

// The server closed the client's connection without a byte: EOF or a reset.
bool closed_by_server(int client) {
  char b;
  return recv(client, &b, 1, 0) <= 0;
}

// A small limit, then every free descriptor taken; returns the fillers.
std::vector<int> fill_to_limit() {
  rlimit rl{64, 64};
  CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  std::vector<int> fillers;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(fd);
  CHILD_CHECK(errno == EMFILE);
  return fillers;
}

void free_one(std::vector<int>& fillers) {
  close(fillers.back());
  fillers.pop_back();
}

// A kernel-side accept (an io_uring multishot accept of another loop) took the slot a shed
// had freed: the pool is one spare short and that loop holds a new connection. It must turn
// that connection into the missing spare, so the process can still shed newcomers.
void spare_taken_by_an_accept_is_restored() {
  Net n = listen_loopback();
  int first = connect_to(n);
  int second = connect_to(n);
  std::vector<int> fillers = fill_to_limit();
  free_one(fillers);
  free_one(fillers);
  fdp::add_spare();
  fdp::add_spare();
  fdp::add_spare();  // no descriptor left for it: the state a stolen slot leaves
  CHILD_CHECK(fdp::spares() == 2);

  free_one(fillers);
  int stolen = accept4(n.listener, nullptr, nullptr, SOCK_CLOEXEC);
  CHILD_CHECK(stolen >= 0);
  CHILD_CHECK(!fdp::keep_accepted(stolen));
  CHILD_CHECK(fdp::spares() == 3);
  CHILD_CHECK(closed_by_server(first));

  // With the spare back, the next newcomer is shed, and the pool stays whole.
  CHILD_CHECK(fdp::shed(n.listener, 0) == 1);
  CHILD_CHECK(closed_by_server(second));
  CHILD_CHECK(fdp::spares() == 3);
  CHILD_CHECK(fdp::shed(n.listener, 0) == 0);  // nobody waiting
  CHILD_CHECK(fdp::spares() == 3);
  _exit(0);
}

// With the pool whole, an accepted connection is kept.
void accepted_connection_is_kept_when_the_pool_is_whole() {
  Net n = listen_loopback();
  int client = connect_to(n);
  std::vector<int> fillers = fill_to_limit();
  free_one(fillers);
  fdp::add_spare();
  free_one(fillers);
  int fd = accept4(n.listener, nullptr, nullptr, SOCK_CLOEXEC);
  CHILD_CHECK(fd >= 0);
  CHILD_CHECK(fdp::keep_accepted(fd));
  CHILD_CHECK(send(fd, "k", 1, 0) == 1);
  char b = 0;
  CHILD_CHECK(recv(client, &b, 1, 0) == 1 && b == 'k');
  _exit(0);
}

// No spare at all: shed says so (-1) instead of pretending the queue is empty.
void shed_without_a_spare_reports_it() {
  Net n = listen_loopback();
  int client = connect_to(n);
  std::vector<int> fillers = fill_to_limit();
  fdp::add_spare();
  CHILD_CHECK(fdp::spares() == 0);
  CHILD_CHECK(fdp::shed(n.listener, 0) == -1);
  free_one(fillers);  // a descriptor frees up: the pool refills and the newcomer is shed
  CHILD_CHECK(fdp::shed(n.listener, 0) == 1);
  CHILD_CHECK(closed_by_server(client));
  CHILD_CHECK(fdp::spares() == 1);
  fdp::remove_spare();
  CHILD_CHECK(fdp::spares() == 0);
  _exit(0);
}

TEST(FdPressure, SpareTakenByAnAcceptIsRestored) {
  EXPECT_EXIT(spare_taken_by_an_accept_is_restored(), testing::ExitedWithCode(0), "");
}

TEST(FdPressure, AcceptedConnectionIsKeptWhenThePoolIsWhole) {
  EXPECT_EXIT(accepted_connection_is_kept_when_the_pool_is_whole(), testing::ExitedWithCode(0), "");
}

TEST(FdPressure, ShedWithoutASpareReportsIt) {
  EXPECT_EXIT(shed_without_a_spare_reports_it(), testing::ExitedWithCode(0), "");
}

}  // namespace
