// Listening-socket setup: SO_REUSEADDR/SO_REUSEPORT, probe bind, stale unix socket removal.
#include "reactor/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace reactor {

int read_somaxconn() {
  FILE* f = fopen("/proc/sys/net/core/somaxconn", "r");
  if (!f) return -1;
  int v = -1;
  if (fscanf(f, "%d", &v) != 1) v = -1;
  fclose(f);
  return v;
}

int probe_address_free(const SocketAddress& addr) {
  if (addr.is_unix() || addr.port() == 0) return 0;
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int err = 0;
  if (bind(fd, addr.get(), addr.len) != 0) err = errno;
  ::close(fd);
  return err;
}

// A unix socket path is stale when it is a socket nobody accepts on.
static int clear_stale_unix_path(const std::string& path, std::string* error) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return errno == ENOENT ? 0 : errno;
  if (!S_ISSOCK(st.st_mode)) {
    *error = path + " exists and is not a socket (not removing it)";
    return EEXIST;
  }
  SocketAddress a;
  std::string ignored;
  SocketAddress::parse("unix:" + path, &a, &ignored);
  // A listener of a process that just died can accept connects for a few milliseconds more
  // (an io_uring instance is torn down after its process exits), so "someone answers" is
  // only believed if it is still true after a short while.
  int err = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return errno;
    int rc = connect(probe, a.get(), a.len);
    err = rc == 0 ? 0 : errno;
    ::close(probe);
    if (err != 0 && err != EAGAIN) break;
    usleep(50 * 1000);
  }
  if (err == 0 || err == EAGAIN) {
    *error = "another process is serving " + path;
    return EADDRINUSE;
  }
  if (err != ECONNREFUSED) return 0;  // e.g. ENOENT raced away: nothing to remove
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return errno;
  return 0;
}

int open_listen_socket(const SocketAddress& addr, const ListenOptions& opts, int* err,
                       std::string* error) {
  *err = 0;
  if (addr.is_unix()) {
    int e = clear_stale_unix_path(addr.unix_path(), error);
    if (e != 0) {
      *err = e;
      if (error->empty()) *error = strerror(e);
      return -1;
    }
  }
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    *error = std::string("socket: ") + strerror(errno);
    return -1;
  }
  int one = 1;
  if (!addr.is_unix()) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (opts.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      *err = errno;
      *error = std::string("SO_REUSEPORT: ") + strerror(errno);
      ::close(fd);
      return -1;
    }
    if (opts.defer_accept_s > 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &opts.defer_accept_s, sizeof(int)) != 0) {
      *err = errno;
      *error = std::string("TCP_DEFER_ACCEPT: ") + strerror(errno);
      ::close(fd);
      return -1;
    }
    if (opts.fastopen_queue > 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &opts.fastopen_queue, sizeof(int)) != 0) {
      *err = errno;
      *error = std::string("TCP_FASTOPEN: ") + strerror(errno);
      ::close(fd);
      return -1;
    }
    // An IPv6 listener serves IPv6 only: 0.0.0.0 and :: can then be listened on side by side.
    if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (bind(fd, addr.get(), addr.len) != 0) {
    *err = errno;
    *error = std::string("bind: ") + strerror(errno);
    ::close(fd);
    return -1;
  }
  if (listen(fd, opts.backlog) != 0) {
    *err = errno;
    *error = std::string("listen: ") + strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

void Listener::close_fd() {
  std::lock_guard<std::mutex> lock(fd_mu_);
  if (fd < 0) return;
  ::close(fd);
  fd = -1;
}

SocketAddress bound_address(int fd) {
  SocketAddress a;
  a.len = sizeof a.storage;
  if (getsockname(fd, a.get(), &a.len) != 0) a.len = 0;
  return a;
}

}  // namespace reactor
