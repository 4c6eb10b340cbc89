// reactord-client: the line client. Reads lines from stdin, sends each non-empty one, prints
// the reply line; a prompt on a terminal; a close by the server is reported at once. Works from
// a pipe: printf 'hi\n' | reactord-client 127.0.0.1:7001 -> HI
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

// Watches the socket and stdin together, so a server that closes or dies is reported at once,
// not when the next line is typed. On a terminal, a prompt before each line.
class LineSession {
 public:
  LineSession(int fd, const char* name, bool interactive)
      : fd_(fd), name_(name), interactive_(interactive) {}

  // 0 once stdin ends, 1 when the connection failed or closed first.
  int run() {
    prompt();
    char buf[16384];
    for (;;) {
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {fd_, POLLIN, 0}};
      int n = poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail("poll", errno);
      // The socket first: an unsolicited close must be reported even while stdin has data.
      if (fds[1].revents != 0 && !read_socket(buf, sizeof buf)) return 1;
      if (fds[0].revents == 0) continue;
      ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (!input_.empty() && !send_line(input_)) return 1;  // a last line without newline
        return 0;
      }
      input_.append(buf, static_cast<size_t>(r));
      size_t nl;
      while ((nl = input_.find('\n')) != std::string::npos) {
        std::string line = input_.substr(0, nl);
        input_.erase(0, nl + 1);
        if (!send_line(line)) return 1;
      }
    }
  }

 private:
  void prompt() {
    if (!interactive_) return;
    printf("%s> ", name_);
    fflush(stdout);
  }
  int fail(const char* what, int err) {
    fprintf(stderr, "reactord-client: %s %s: %s\n", what, name_, strerror(err));
    return 1;
  }
  // Reads what the server sent; false (after saying so) when it closed or failed.
  bool read_socket(char* buf, size_t size) {
    ssize_t r = ::recv(fd_, buf, size, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (r <= 0) {
      fprintf(stderr, "%sreactord-client: %s closed the connection%s%s\n", interactive_ ? "\n" : "",
              name_, r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
      return false;
    }
    pending_.append(buf, static_cast<size_t>(r));
    return true;
  }
  // Sends one line (CR dropped, empty ones skipped) and prints the reply line; false when the
  // connection failed or closed before the reply.
  bool send_line(std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      prompt();
      return true;
    }
    line.push_back('\n');
    if (!send_all(fd_, line.data(), line.size())) {
      fail("send to", errno);
      return false;
    }
    // The reply is complete at its newline (echo and upper answer byte for byte).
    char buf[16384];
    size_t nl;
    while ((nl = pending_.find('\n')) == std::string::npos) {
      if (!read_socket(buf, sizeof buf)) return false;
    }
    fwrite(pending_.data(), 1, nl + 1, stdout);
    fflush(stdout);
    pending_.erase(0, nl + 1);
    prompt();
    return true;
  }

  int fd_;
  const char* name_;
  bool interactive_;
  std::string input_;    // stdin bytes not yet a whole line
  std::string pending_;  // server bytes not yet printed
};

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
  LineSession session(fd, argv[1], isatty(STDIN_FILENO) == 1);
  int rc = session.run();
  if (rc != 0) return rc;
  // Close our side first and wait for the server's FIN: the client, not the server, is the
  // active closer, so TIME_WAIT stays on this side.
  shutdown(fd, SHUT_WR);
  char buf[4096];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
  ::close(fd);
  return 0;
}
