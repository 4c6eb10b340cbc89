// Parsing and printing of listen/connect addresses: HOST:PORT, [IPV6]:PORT, unix:/path.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <string_view>

namespace reactor {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
  bool is_unix() const { return family() == AF_UNIX; }
  std::string unix_path() const;
  int port() const;  // 0 for unix
  void set_port(int port);
  // "127.0.0.1:7000", "[::1]:7000", "unix:/run/x.sock"
  std::string to_string() const;

  // Accepts HOST:PORT (numeric IPv4 or "localhost" or "*"/"0.0.0.0"), [IPV6]:PORT, unix:/path.
  // Returns false and a reason in *error for anything else.
  static bool parse(std::string_view text, SocketAddress* out, std::string* error);
  static SocketAddress from_sockaddr(const sockaddr* sa, socklen_t len);
};

}  // namespace reactor
