// ProxyHeaderParser: v1 line and v2 binary header, byte-exact rules, any split of the input.
#include "server/proxy/proxy_header.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace reactord {
namespace {

constexpr char kV1Prefix[] = "PROXY ";
constexpr size_t kV1PrefixLength = sizeof kV1Prefix - 1;
constexpr unsigned char kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr uint8_t kFamilyUnspec = 0x00;
constexpr uint8_t kTcp4 = 0x11;
constexpr uint8_t kTcp6 = 0x21;
constexpr uint32_t kTcp4AddressBytes = 12;  // src, dst (4 each), sport, dport
constexpr uint32_t kTcp6AddressBytes = 36;  // src, dst (16 each), sport, dport

// Splits on single spaces; an empty field (two spaces, or a leading/trailing one) is an error.
bool next_field(std::string_view& rest, std::string_view* field) {
  size_t sp = rest.find(' ');
  *field = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  return !field->empty() && !(sp != std::string_view::npos && rest.empty());
}

bool parse_port(std::string_view text, uint16_t* port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  uint32_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

// Numeric address of `family` plus port into `out`; false when either is malformed.
bool v1_address(int family, std::string_view ip, std::string_view port_text,
                reactor::SocketAddress* out) {
  if (ip.size() >= INET6_ADDRSTRLEN) return false;
  std::string ip_z(ip);
  uint16_t port = 0;
  if (!parse_port(port_text, &port)) return false;
  *out = reactor::SocketAddress{};
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out->storage);
    if (inet_pton(AF_INET, ip_z.c_str(), &in->sin_addr) != 1) return false;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    out->len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out->storage);
    if (inet_pton(AF_INET6, ip_z.c_str(), &in6->sin6_addr) != 1) return false;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    out->len = sizeof(sockaddr_in6);
  }
  return true;
}

// Address and port (both already in network order in `addr`/`port`) into a SocketAddress.
reactor::SocketAddress v2_address(int family, const char* addr, const char* port) {
  reactor::SocketAddress out;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, addr, 4);
    std::memcpy(&in->sin_port, port, 2);
    out.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    in6->sin6_family = AF_INET6;
    std::memcpy(&in6->sin6_addr, addr, 16);
    std::memcpy(&in6->sin6_port, port, 2);
    out.len = sizeof(sockaddr_in6);
  }
  return out;
}

}  // namespace

ProxyHeaderParser::Result ProxyHeaderParser::fail(const char* why, size_t consumed) {
  status_ = Status::kInvalid;
  error_ = why;
  return {status_, consumed};
}

ProxyHeaderParser::Result ProxyHeaderParser::feed(std::string_view in) {
  if (status_ != Status::kNeedMore) return {status_, 0};
  if (in.empty()) return {status_, 0};
  // The signature's first byte decides: 'P' can only begin v1, '\r' only v2.
  char first = have_ > 0 ? buf_[0] : in[0];
  if (first == 'P') return feed_v1(in);
  if (first == '\r') return feed_v2(in);
  return fail("no PROXY signature", 1);
}

ProxyHeaderParser::Result ProxyHeaderParser::feed_v1(std::string_view in) {
  for (size_t i = 0; i < in.size(); ++i) {
    char ch = in[i];
    if (have_ < kV1PrefixLength && ch != kV1Prefix[have_]) return fail("bad v1 signature", i + 1);
    if (have_ > 0 && buf_[have_ - 1] == '\r' && ch != '\n') return fail("v1: CR without LF", i + 1);
    if (ch == '\n' && (have_ == 0 || buf_[have_ - 1] != '\r')) return fail("v1: LF without CR", i + 1);
    buf_[have_++] = ch;
    if (ch == '\n') {
      if (!parse_v1_line()) return fail(error_, i + 1);
      status_ = Status::kDone;
      return {status_, i + 1};
    }
    if (have_ == kV1MaxLength) return fail("v1 line longer than 107 bytes", i + 1);
  }
  return {status_, in.size()};
}

bool ProxyHeaderParser::parse_v1_line() {
  header_.version = 1;
  header_.command = ProxyHeader::Command::kProxy;
  std::string_view rest(buf_ + kV1PrefixLength, have_ - kV1PrefixLength - 2);
  // UNKNOWN: the balancer could not name the client; whatever follows is ignored.
  if (rest == "UNKNOWN" || rest.substr(0, 8) == "UNKNOWN ") return true;
  std::string_view proto, src, dst, sport, dport;
  error_ = "v1: malformed line";
  if (!next_field(rest, &proto) || !next_field(rest, &src) || !next_field(rest, &dst) ||
      !next_field(rest, &sport) || !next_field(rest, &dport) || !rest.empty())
    return false;
  int family;
  if (proto == "TCP4") {
    family = AF_INET;
  } else if (proto == "TCP6") {
    family = AF_INET6;
  } else {
    error_ = "v1: protocol is not TCP4, TCP6 or UNKNOWN";
    return false;
  }
  error_ = "v1: bad address or port";
  if (!v1_address(family, src, sport, &header_.source) ||
      !v1_address(family, dst, dport, &header_.destination))
    return false;
  error_ = "";
  return true;
}

ProxyHeaderParser::Result ProxyHeaderParser::feed_v2(std::string_view in) {
  size_t i = 0;
  while (have_ < kV2HeaderLength && i < in.size()) {
    char ch = in[i++];
    if (have_ < sizeof kV2Signature && static_cast<unsigned char>(ch) != kV2Signature[have_])
      return fail("bad v2 signature", i);
    buf_[have_++] = ch;
    if (have_ == kV2HeaderLength && !finish_v2_fixed()) return fail(error_, i);
  }
  if (have_ < kV2HeaderLength) return {status_, i};
  // The address block, stored (it is small); then the rest, skipped.
  while (v2_addr_len_ > 0 && have_ < kV2HeaderLength + v2_addr_len_ && i < in.size()) {
    buf_[have_++] = in[i++];
    --v2_left_;
    if (have_ == kV2HeaderLength + v2_addr_len_) take_v2_addresses();
  }
  if (have_ < kV2HeaderLength + v2_addr_len_) return {status_, i};
  if (walk_tlvs_) {
    i += skip_tlvs(in.substr(i));
    if (status_ == Status::kInvalid) return {status_, i};
  } else {
    size_t n = std::min<size_t>(v2_left_, in.size() - i);
    v2_left_ -= static_cast<uint32_t>(n);
    i += n;
  }
  if (v2_left_ == 0) status_ = Status::kDone;
  return {status_, i};
}

bool ProxyHeaderParser::finish_v2_fixed() {
  header_.version = 2;
  auto byte = [&](size_t k) { return static_cast<uint8_t>(buf_[k]); };
  uint8_t ver_cmd = byte(12), fam = byte(13);
  v2_left_ = static_cast<uint32_t>(byte(14)) << 8 | byte(15);
  if ((ver_cmd >> 4) != 2) {
    error_ = "v2: version is not 2";
    return false;
  }
  if ((ver_cmd & 0x0F) == 0x0) {
    // LOCAL: the balancer's own connection (a health check); the address block is ignored.
    header_.command = ProxyHeader::Command::kLocal;
    return true;
  }
  if ((ver_cmd & 0x0F) != 0x1) {
    error_ = "v2: command is not LOCAL or PROXY";
    return false;
  }
  header_.command = ProxyHeader::Command::kProxy;
  if (fam == kTcp4) {
    v2_addr_len_ = kTcp4AddressBytes;
  } else if (fam == kTcp6) {
    v2_addr_len_ = kTcp6AddressBytes;
  } else if (fam != kFamilyUnspec) {
    error_ = "v2: family/protocol is not TCP over IPv4/IPv6 or UNSPEC";
    return false;
  }
  if (v2_left_ < v2_addr_len_) {
    error_ = "v2: length shorter than the address block";
    return false;
  }
  walk_tlvs_ = v2_addr_len_ > 0;
  return true;
}

void ProxyHeaderParser::take_v2_addresses() {
  const char* a = buf_ + kV2HeaderLength;
  if (v2_addr_len_ == kTcp4AddressBytes) {
    header_.source = v2_address(AF_INET, a, a + 8);
    header_.destination = v2_address(AF_INET, a + 4, a + 10);
  } else {
    header_.source = v2_address(AF_INET6, a, a + 32);
    header_.destination = v2_address(AF_INET6, a + 16, a + 34);
  }
}

// Walks TLVs (type, 16-bit length, value) through the header's remaining bytes: a TLV whose
// head or value would pass the header's end is refused as soon as its length is known.
size_t ProxyHeaderParser::skip_tlvs(std::string_view in) {
  size_t i = 0;
  while (i < in.size() && v2_left_ > 0) {
    if (tlv_skip_ > 0) {
      size_t n = std::min<size_t>(tlv_skip_, in.size() - i);
      tlv_skip_ -= static_cast<uint32_t>(n);
      v2_left_ -= static_cast<uint32_t>(n);
      i += n;
      continue;
    }
    tlv_head_[tlv_head_have_++] = static_cast<uint8_t>(in[i++]);
    --v2_left_;
    if (tlv_head_have_ < 3) {
      if (v2_left_ == 0) {
        fail("v2: TLV head cut by the header's end", 0);
        return i;
      }
      continue;
    }
    tlv_head_have_ = 0;
    tlv_skip_ = static_cast<uint32_t>(tlv_head_[1]) << 8 | tlv_head_[2];
    if (tlv_skip_ > v2_left_) {
      fail("v2: TLV longer than the header", 0);
      return i;
    }
  }
  return i;
}

}  // namespace reactord
