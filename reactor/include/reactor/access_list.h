// --allow/--deny CIDR rules checked at accept: address AND mask compared with the network.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace reactor {

// Immutable after start-up; read concurrently by every loop without locks.
//
// Semantics: a connection is denied when it matches a --deny rule; otherwise, when any --allow
// rule exists, it must match one of them. (So "--allow 10.0.0.0/8 --deny 10.1.0.0/16" admits
// 10/8 except 10.1/16.) IPv4-mapped IPv6 peers (::ffff:a.b.c.d) are matched as IPv4.
// Unix-domain peers are always allowed.
class AccessList {
 public:
  struct Rule {
    int family = AF_INET;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> net{};
    std::array<uint8_t, 16> mask{};
  };

  // Parses "a.b.c.d/len", "a.b.c.d" (= /32), "x::y/len", "x::y" (= /128). False + reason on error.
  static bool parse_cidr(std::string_view text, Rule* out, std::string* error);

  void allow(const Rule& r) { allow_.push_back(r); }
  void deny(const Rule& r) { deny_.push_back(r); }
  bool empty() const { return allow_.empty() && deny_.empty(); }
  bool permits(const sockaddr* peer) const;
  // True when an IPv4/IPv6 `peer` is in one of the allow rules' networks (for a list used as a
  // plain set of networks, deny rules unused). Unix-domain peers match nothing.
  bool matches_any(const sockaddr* peer) const {
    return !allow_.empty() && peer != nullptr &&
           (peer->sa_family == AF_INET || peer->sa_family == AF_INET6) && permits(peer);
  }

 private:
  static bool matches(const Rule& r, int family, const uint8_t* addr);
  std::vector<Rule> allow_;
  std::vector<Rule> deny_;
};

}  // namespace reactor
