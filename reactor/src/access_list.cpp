// AccessList: CIDR parsing and the per-accept match (the seed's subnet-mask rule).
#include "reactor/access_list.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace reactor {

bool AccessList::parse_cidr(std::string_view text, Rule* out, std::string* error) {
  *out = Rule{};
  std::string_view addr = text;
  int len = -1;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view bits = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), len);
    if (bits.empty() || ec != std::errc() || p != bits.data() + bits.size()) {
      *error = "bad CIDR '" + std::string(text) + "': prefix length is not a number";
      return false;
    }
  }
  std::string a(addr);
  int max;
  if (inet_pton(AF_INET, a.c_str(), out->net.data()) == 1) {
    out->family = AF_INET;
    max = 32;
  } else if (inet_pton(AF_INET6, a.c_str(), out->net.data()) == 1) {
    out->family = AF_INET6;
    max = 128;
  } else {
    *error = "bad CIDR '" + std::string(text) + "': '" + a + "' is not an IPv4 or IPv6 address";
    return false;
  }
  if (len < 0) len = max;
  if (len > max) {
    *error = "bad CIDR '" + std::string(text) + "': prefix length above " + std::to_string(max);
    return false;
  }
  for (int i = 0; i < max / 8; ++i) {
    int bits = len - i * 8;
    out->mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    out->net[i] &= out->mask[i];  // 10.1.2.3/8 means 10.0.0.0/8
  }
  return true;
}

bool AccessList::matches(const Rule& r, int family, const uint8_t* addr) {
  if (r.family != family) return false;
  int n = family == AF_INET ? 4 : 16;
  for (int i = 0; i < n; ++i) {
    if ((addr[i] & r.mask[i]) != r.net[i]) return false;
  }
  return true;
}

bool AccessList::permits(const sockaddr* peer) const {
  if (empty() || peer == nullptr) return true;
  int family = peer->sa_family;
  const uint8_t* addr;
  uint8_t v4[4];
  if (family == AF_INET) {
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(peer)->sin_addr);
  } else if (family == AF_INET6) {
    const auto* a6 = &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      memcpy(v4, a6->s6_addr + 12, 4);
      addr = v4;
      family = AF_INET;
    } else {
      addr = a6->s6_addr;
    }
  } else {
    return true;
  }
  for (const Rule& r : deny_) {
    if (matches(r, family, addr)) return false;
  }
  if (allow_.empty()) return true;
  for (const Rule& r : allow_) {
    if (matches(r, family, addr)) return true;
  }
  return false;
}

}  // namespace reactor
