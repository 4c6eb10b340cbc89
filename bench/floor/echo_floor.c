// The floor: a minimal single-thread epoll echo server; reactord's overhead is measured over it.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

// One per connection; `pending` holds what a short write left over. Connections sit in a
// doubly linked list only so that SIGTERM can free them all (a clean valgrind run).
struct conn {
  int fd;
  char* pending;
  size_t len, off;
  struct conn *prev, *next;
};

static struct conn all = {-1, NULL, 0, 0, &all, &all};
static int listener_tag, signal_tag;  // their addresses mark the two non-connection fds
static char buf[65536];               // the one read buffer, shared by every connection

static void close_conn(struct conn* c) {
  close(c->fd);  // also drops it from the epoll set
  c->prev->next = c->next;
  c->next->prev = c->prev;
  free(c->pending);
  free(c);
}

static int watch(int ep, int op, int fd, unsigned events, void* ptr) {
  struct epoll_event ev = {.events = events, .data.ptr = ptr};
  return epoll_ctl(ep, op, fd, &ev);
}

// Sends what it can; keeps the rest and waits for EPOLLOUT instead of reading more, which is
// also the backpressure: a client that does not read stops being read.
static void send_or_park(int ep, struct conn* c, const char* data, size_t len) {
  ssize_t w = send(c->fd, data, len, MSG_NOSIGNAL);
  if (w < 0 && (errno == EAGAIN || errno == EINTR)) w = 0;
  if (w < 0) {
    close_conn(c);
    return;
  }
  if ((size_t)w == len) {
    if (c->pending) {
      free(c->pending);
      c->pending = NULL;
      watch(ep, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
    }
  } else if (c->pending) {
    c->off += (size_t)w;  // still flushing the parked bytes
  } else if ((c->pending = malloc(len - (size_t)w))) {
    memcpy(c->pending, data + w, len - (size_t)w);
    c->len = len - (size_t)w;
    c->off = 0;
    watch(ep, EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
  } else {
    close_conn(c);
  }
}

static void accept_all(int ep, int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or EMFILE & co.: the next readiness event retries
    int one = 1;         // replies are small and latency is measured: no Nagle, as in reactord
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn* c = calloc(1, sizeof *c);
    if (!c || watch(ep, EPOLL_CTL_ADD, fd, EPOLLIN, c) < 0) {
      free(c);
      close(fd);
      continue;
    }
    c->fd = fd;
    c->prev = all.prev;
    c->next = &all;
    all.prev->next = c;
    all.prev = c;
  }
}

int main(int argc, char** argv) {
  int port = argc == 2 ? atoi(argv[1]) : -1;
  if (port < 0 || port > 65535) {
    fprintf(stderr, "usage: echo_floor PORT\n");
    return 2;
  }
  // 10,000-connection cases need more than the usual soft limit of 1024 descriptors.
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  // SIGTERM arrives through a signalfd, so shutdown is just another epoll event (no races).
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (sfd < 0 || lfd < 0 || ep < 0 || bind(lfd, (struct sockaddr*)&addr, sizeof addr) < 0 ||
      listen(lfd, SOMAXCONN) < 0 || watch(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, &listener_tag) < 0 ||
      watch(ep, EPOLL_CTL_ADD, sfd, EPOLLIN, &signal_tag) < 0) {
    perror("echo_floor: setup");
    return 1;
  }
  fprintf(stderr, "echo_floor: listening echo on 127.0.0.1:%d\necho_floor: ready\n", port);

  struct epoll_event events[256];
  for (int running = 1; running;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno != EINTR) {
      perror("echo_floor: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      void* ptr = events[i].data.ptr;
      if (ptr == &listener_tag) {
        accept_all(ep, lfd);
      } else if (ptr == &signal_tag) {
        running = 0;
      } else {
        struct conn* c = ptr;
        if (c->pending) {  // only EPOLLOUT (or an error, which the send reports) is armed
          send_or_park(ep, c, c->pending + c->off, c->len - c->off);
          continue;
        }
        // Level-triggered: one read per wakeup; whatever is left raises the next event.
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r > 0) {
          send_or_park(ep, c, buf, (size_t)r);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          close_conn(c);
        }
      }
    }
  }
  while (all.next != &all) close_conn(all.next);
  close(lfd);
  close(sfd);
  close(ep);
  fprintf(stderr, "echo_floor: stopped\n");
  return 0;
}
