// client_address(): the PROXY side table first, getpeername() otherwise.
#include "server/client_address.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <unordered_map>

#include "reactor/event_loop.h"

namespace reactord {
namespace {

// 24 bytes per proxied connection instead of a 128-byte sockaddr_storage.
struct Entry {
  uint32_t gen = 0;  // the connection's generation: a reused slot never reads a stale entry
  uint16_t family = AF_UNSPEC;
  uint16_t port = 0;  // network order
  uint8_t addr[16] = {};
};

struct Key {
  const reactor::EventLoop* loop;
  uint32_t slot;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<const void*>()(k.loop) * 31 + k.slot;
  }
};

// Connections are only touched on their loop's thread, so each thread keeps its own table and
// no lock is needed. An entry outlives its connection until the slot is proxied again (the
// generation tells them apart), so the table holds at most one entry per slot ever proxied.
thread_local std::unordered_map<Key, Entry, KeyHash> proxied;

Key key_of(const reactor::Connection& c) { return Key{&c.loop(), c.id().slot}; }

}  // namespace

void set_client_address(const reactor::Connection& c, const reactor::SocketAddress& addr) {
  Entry e;
  e.gen = c.id().gen;
  e.family = static_cast<uint16_t>(addr.family());
  if (addr.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr.storage);
    e.port = in->sin_port;
    std::memcpy(e.addr, &in->sin_addr, 4);
  } else if (addr.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr.storage);
    e.port = in6->sin6_port;
    std::memcpy(e.addr, &in6->sin6_addr, 16);
  } else {
    proxied.erase(key_of(c));
    return;
  }
  proxied[key_of(c)] = e;
}

reactor::SocketAddress client_address(const reactor::Connection& c) {
  reactor::SocketAddress out;
  if (!proxied.empty()) {
    auto it = proxied.find(key_of(c));
    if (it != proxied.end() && it->second.gen == c.id().gen) {
      const Entry& e = it->second;
      if (e.family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
        in->sin_family = AF_INET;
        in->sin_port = e.port;
        std::memcpy(&in->sin_addr, e.addr, 4);
        out.len = sizeof(sockaddr_in);
      } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = e.port;
        std::memcpy(&in6->sin6_addr, e.addr, 16);
        out.len = sizeof(sockaddr_in6);
      }
      return out;
    }
  }
  out.len = sizeof out.storage;
  if (c.fd() < 0 || getpeername(c.fd(), out.get(), &out.len) != 0) return reactor::SocketAddress{};
  return out;
}

}  // namespace reactord
