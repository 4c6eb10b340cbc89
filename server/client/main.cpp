// reactord-client: the line client. Reads lines from stdin, sends each non-empty one, prints
// the reply line. Works from a pipe: printf 'hi\n' | reactord-client 127.0.0.1:7001 -> HI
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "reactor/socket_address.h"

namespace {

// sendall: send() may take only part; keep going until every byte is written.
bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "--version" || std::string(argv[1]) == "-v")) {
    printf("reactord-client %s\n", REACTORD_VERSION);
    return 0;
  }
  if (argc != 2 || std::string(argv[1]) == "--help") {
    fprintf(argc == 2 ? stdout : stderr,
            "usage: reactord-client HOST:PORT | [IPV6]:PORT | unix:/path\n"
            "       reactord-client --version\n"
            "Sends each non-empty line of stdin and prints the reply line.\n");
    return argc == 2 ? 0 : 2;
  }
  signal(SIGPIPE, SIG_IGN);
  reactor::SocketAddress addr;
  std::string err;
  if (!reactor::SocketAddress::parse(argv[1], &addr, &err)) {
    fprintf(stderr, "reactord-client: %s\n", err.c_str());
    return 2;
  }
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, addr.get(), addr.len) != 0) {
    fprintf(stderr, "reactord-client: cannot connect to %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  if (!addr.is_unix()) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  std::string line, pending;
  char buf[16384];
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    line.push_back('\n');
    if (!send_all(fd, line.data(), line.size())) {
      fprintf(stderr, "reactord-client: send to %s: %s\n", argv[1], strerror(errno));
      return 1;
    }
    // The reply is complete at its newline (echo and upper answer byte for byte).
    size_t nl;
    while ((nl = pending.find('\n')) == std::string::npos) {
      ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        fprintf(stderr, "reactord-client: %s closed the connection%s%s\n", argv[1],
                r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
        return 1;
      }
      pending.append(buf, static_cast<size_t>(r));
    }
    fwrite(pending.data(), 1, nl + 1, stdout);
    fflush(stdout);
    pending.erase(0, nl + 1);
  }
  // Close our side first and wait for the server's FIN: the client, not the server, is the
  // active closer, so TIME_WAIT stays on this side.
  shutdown(fd, SHUT_WR);
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
  ::close(fd);
  return 0;
}
