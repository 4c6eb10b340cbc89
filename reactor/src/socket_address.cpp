// SocketAddress parsing/printing; numeric only (a server's listen address needs no DNS).
#include "reactor/socket_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstddef>
#include <cstring>

namespace reactor {

std::string SocketAddress::unix_path() const {
  if (!is_unix()) return {};
  const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
  size_t max = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
  return std::string(un->sun_path, strnlen(un->sun_path, max));
}

int SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

void SocketAddress::set_port(int port) {
  if (family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(static_cast<uint16_t>(port));
  else if (family() == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(static_cast<uint16_t>(port));
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    std::string out = "[";  // appended, not "[" + std::string: GCC 12 -O3 warns (-Wrestrict)
    out += buf;
    out += "]:";
    out += std::to_string(port());
    return out;
  }
  if (is_unix()) return "unix:" + unix_path();
  return "?";
}

static bool parse_port(std::string_view text, int* port, std::string* error) {
  int value = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || value < 0 ||
      value > 65535) {
    *error = "bad port '" + std::string(text) + "' (want 0-65535)";
    return false;
  }
  *port = value;
  return true;
}

bool SocketAddress::parse(std::string_view text, SocketAddress* out, std::string* error) {
  *out = SocketAddress{};
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    auto* un = reinterpret_cast<sockaddr_un*>(&out->storage);
    if (path.empty()) {
      *error = "empty unix socket path";
      return false;
    }
    if (path.size() >= sizeof(un->sun_path)) {
      *error =
          "unix socket path longer than " + std::to_string(sizeof(un->sun_path) - 1) + " bytes";
      return false;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path.data(), path.size());
    out->len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return true;
  }
  std::string host;
  std::string_view port_text;
  if (text.starts_with("[")) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *error = "bad address '" + std::string(text) + "' (want [IPV6]:PORT)";
      return false;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    int port;
    if (!parse_port(port_text, &port, error)) return false;
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out->storage);
    in6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) != 1) {
      *error = "bad IPv6 address '" + host + "'";
      return false;
    }
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    out->len = sizeof(sockaddr_in6);
    return true;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    *error = "bad address '" + std::string(text) + "' (want HOST:PORT, [IPV6]:PORT or unix:/path)";
    return false;
  }
  host = std::string(text.substr(0, colon));
  port_text = text.substr(colon + 1);
  int port;
  if (!parse_port(port_text, &port, error)) return false;
  if (host == "localhost") host = "127.0.0.1";
  if (host == "*" || host.empty()) host = "0.0.0.0";
  auto* in = reinterpret_cast<sockaddr_in*>(&out->storage);
  in->sin_family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) {
    *error = "bad IPv4 address '" + host + "' (numeric addresses only)";
    return false;
  }
  in->sin_port = htons(static_cast<uint16_t>(port));
  out->len = sizeof(sockaddr_in);
  return true;
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  if (len > sizeof a.storage) len = sizeof a.storage;
  memcpy(&a.storage, sa, len);
  a.len = len;
  return a;
}

}  // namespace reactor
