// PROXY protocol headers built byte by byte for tests (v1 lines are written out literally).
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <string>

namespace rt {

inline std::string proxy_v2_signature() {
  return std::string("\r\n\r\n\0\r\nQUIT\n", 12);
}

// Signature, version/command byte, family/protocol byte, big-endian length, then `body`.
inline std::string proxy_v2_raw(uint8_t ver_cmd, uint8_t fam, const std::string& body) {
  std::string h = proxy_v2_signature();
  h += static_cast<char>(ver_cmd);
  h += static_cast<char>(fam);
  h += static_cast<char>(body.size() >> 8);
  h += static_cast<char>(body.size() & 0xff);
  return h + body;
}

inline std::string proxy_v2_tlv(uint8_t type, const std::string& value) {
  std::string t(1, static_cast<char>(type));
  t += static_cast<char>(value.size() >> 8);
  t += static_cast<char>(value.size() & 0xff);
  return t + value;
}

inline std::string port_bytes(uint16_t port) {
  return std::string{static_cast<char>(port >> 8), static_cast<char>(port & 0xff)};
}

template <int Family, size_t Bytes>
std::string ip_bytes(const char* text) {
  unsigned char b[Bytes] = {};
  inet_pton(Family, text, b);
  return std::string(reinterpret_cast<char*>(b), Bytes);
}

inline std::string proxy_v2_tcp4(const char* src, uint16_t sport, const char* dst,
                                 uint16_t dport, const std::string& tlvs) {
  return proxy_v2_raw(0x21, 0x11,
                      ip_bytes<AF_INET, 4>(src) + ip_bytes<AF_INET, 4>(dst) + port_bytes(sport) +
                          port_bytes(dport) + tlvs);
}

inline std::string proxy_v2_tcp6(const char* src, uint16_t sport, const char* dst,
                                 uint16_t dport, const std::string& tlvs) {
  return proxy_v2_raw(0x21, 0x21,
                      ip_bytes<AF_INET6, 16>(src) + ip_bytes<AF_INET6, 16>(dst) +
                          port_bytes(sport) + port_bytes(dport) + tlvs);
}

}  // namespace rt
