// A second, independent echo load: one thread, level-triggered epoll, closed loop, nothing shared
// with reactord (reactord-bench is built on the reactor, so a fault both share would cancel out).
// Keeps DEPTH messages of SIZE bytes in flight on each of CONNS connections for SECONDS, checks
// every byte that comes back against the pattern sent, and prints one JSON line.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kPeriod = 251, kChunk = 256 * 1024 };

struct conn {
  int fd;
  unsigned long long sent, received;  // stream offsets: byte i of the stream is pattern[i % kPeriod]
  unsigned long long target;          // bytes to have sent: (responses + depth) * size
  int want_out;
};

static char pattern[kChunk + kPeriod];
static char rbuf[kChunk];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void arm(int ep, struct conn* c, int out) {
  if (c->want_out == out) return;
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = out;
}

// Writes toward c->target; returns -1 on a socket error.
static int pump(int ep, struct conn* c) {
  while (c->sent < c->target) {
    unsigned long long left = c->target - c->sent;
    size_t len = left < kChunk ? (size_t)left : kChunk;
    ssize_t w = send(c->fd, pattern + c->sent % kPeriod, len, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return -1;
    }
    c->sent += (unsigned long long)w;
  }
  arm(ep, c, c->sent < c->target);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: echo_client PORT CONNS SIZE DEPTH SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]), conns = atoi(argv[2]), depth = atoi(argv[4]);
  unsigned long long size = strtoull(argv[3], NULL, 10);
  double seconds = atof(argv[5]);
  if (port <= 0 || conns <= 0 || size == 0 || depth <= 0 || seconds <= 0) {
    fprintf(stderr, "echo_client: bad arguments\n");
    return 2;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  for (size_t i = 0; i < sizeof pattern; ++i) pattern[i] = (char)('a' + i % kPeriod % 26);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct conn* cs = calloc((size_t)conns, sizeof *cs);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < conns; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
      perror("echo_client: connect");
      return 1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);  // connected: now never block
    cs[i].fd = fd;
    cs[i].want_out = -1;
    cs[i].target = size * (unsigned long long)depth;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    cs[i].want_out = 0;
  }
  unsigned long long responses = 0, errors = 0, mismatches = 0;
  double start = now_s(), end = start + seconds;
  for (int i = 0; i < conns; ++i)
    if (pump(ep, &cs[i]) != 0) ++errors;
  struct epoll_event events[256];
  while (now_s() < end) {
    int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      struct conn* c = events[i].data.ptr;
      if (events[i].events & EPOLLOUT && pump(ep, c) != 0) ++errors;
      if (!(events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
      ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        fprintf(stderr, "echo_client: connection ended early\n");
        return 1;
      }
      if (memcmp(rbuf, pattern + c->received % kPeriod, (size_t)r) != 0) ++mismatches;
      unsigned long long before = c->received / size;
      c->received += (unsigned long long)r;
      unsigned long long done = c->received / size - before;
      responses += done;
      c->target += done * size;
      if (done && pump(ep, c) != 0) ++errors;
    }
  }
  double elapsed = now_s() - start;
  unsigned long long bytes = 0;
  for (int i = 0; i < conns; ++i) {
    bytes += cs[i].received;
    close(cs[i].fd);
  }
  printf("{\"requests\": %llu, \"bytes\": %llu, \"duration_s\": %.3f, \"rps\": %.1f, "
         "\"errors\": %llu, \"mismatches\": %llu}\n",
         responses, bytes, elapsed, (double)responses / elapsed, errors, mismatches);
  free(cs);
  return errors || mismatches ? 1 : 0;
}
