// sd_notify / sd_watchdog_enabled / sd_listen_fds_with_names, with a direct implementation of
// the same protocols when libsystemd is not available at build time.
#include "server/systemd.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#if REACTORD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace reactord {
namespace {

constexpr int kListenFdsStart = 3;  // SD_LISTEN_FDS_START: passed fds are 3, 4, ...

[[maybe_unused]] bool parse_u64(const char* text, uint64_t* out) {
  if (!text || !*text) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

bool is_listening_stream(int fd) {
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
  len = sizeof listening;
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening == 1;
}

#if !REACTORD_HAVE_SYSTEMD
// The fallback: sd_listen_fds(3) describes the variables; names are ':'-separated.
std::vector<ActivatedSocket> listen_fds_from_env() {
  std::vector<ActivatedSocket> out;
  uint64_t pid = 0, count = 0;
  bool ours = parse_u64(getenv("LISTEN_PID"), &pid) && pid == static_cast<uint64_t>(getpid()) &&
              parse_u64(getenv("LISTEN_FDS"), &count) && count > 0 && count < 4096;
  const char* names = getenv("LISTEN_FDNAMES");
  std::string names_copy = names ? names : "";
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  if (!ours) return out;
  size_t start = 0;
  for (uint64_t i = 0; i < count; ++i) {
    ActivatedSocket s;
    s.fd = kListenFdsStart + static_cast<int>(i);
    if (names && start <= names_copy.size()) {
      size_t colon = names_copy.find(':', start);
      s.name =
          names_copy.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      start = colon == std::string::npos ? names_copy.size() + 1 : colon + 1;
    }
    if (s.name.empty()) s.name = "unknown";
    out.push_back(std::move(s));
  }
  return out;
}
#endif

}  // namespace

std::vector<ActivatedSocket> take_activated_sockets(std::string* error) {
  std::vector<ActivatedSocket> out;
#if REACTORD_HAVE_SYSTEMD
  char** names = nullptr;
  int n = sd_listen_fds_with_names(1, &names);
  if (n < 0) {
    *error = std::string("socket activation: ") + strerror(-n);
    return {};
  }
  for (int i = 0; i < n; ++i) {
    ActivatedSocket s;
    s.fd = kListenFdsStart + i;
    s.name = names && names[i] ? names[i] : "unknown";
    out.push_back(std::move(s));
  }
  if (names) {
    for (int i = 0; i < n; ++i) free(names[i]);
    free(names);
  }
#else
  out = listen_fds_from_env();
#endif
  for (const ActivatedSocket& s : out) {
    if (!is_listening_stream(s.fd)) {
      *error = "socket activation: fd " + std::to_string(s.fd) + " ('" + s.name +
               "') is not a listening stream socket (Accept=yes is not supported: reactord "
               "accepts connections itself)";
      return {};
    }
    // The manager hands over blocking descriptors; the loops need non-blocking ones, and a
    // child process must not inherit them.
    int fl = fcntl(s.fd, F_GETFL);
    if (fl >= 0) fcntl(s.fd, F_SETFL, fl | O_NONBLOCK);
    fcntl(s.fd, F_SETFD, FD_CLOEXEC);
  }
  return out;
}

bool notify_enabled() {
  const char* path = getenv("NOTIFY_SOCKET");
  return path && *path;
}

bool notify_manager(const std::string& state) {
#if REACTORD_HAVE_SYSTEMD
  return sd_notify(0, state.c_str()) > 0;
#else
  const char* path = getenv("NOTIFY_SOCKET");
  if (!path || (path[0] != '/' && path[0] != '@')) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len >= sizeof addr.sun_path) return false;
  memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  socklen_t addr_len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (path[0] == '@' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                     reinterpret_cast<const sockaddr*>(&addr), addr_len);
  ::close(fd);
  return n == static_cast<ssize_t>(state.size());
#endif
}

uint64_t watchdog_usec() {
#if REACTORD_HAVE_SYSTEMD
  uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
#else
  uint64_t usec = 0, pid = 0;
  if (!parse_u64(getenv("WATCHDOG_USEC"), &usec)) return 0;
  const char* pid_text = getenv("WATCHDOG_PID");
  if (pid_text && (!parse_u64(pid_text, &pid) || pid != static_cast<uint64_t>(getpid()))) return 0;
  return usec;
#endif
}

bool built_with_libsystemd() {
  return REACTORD_HAVE_SYSTEMD != 0;
}

}  // namespace reactord
