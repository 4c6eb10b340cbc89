// The PROXY protocol header (HAProxy's v1 text and v2 binary), parsed strictly from bytes that
// may arrive in any number of pieces. No sockets here: the gate (proxy_gate.h) feeds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "reactor/socket_address.h"

namespace reactord {

struct ProxyHeader {
  enum class Command : uint8_t { kProxy, kLocal };
  Command command = Command::kProxy;
  int version = 0;  // 1 or 2
  // The client as the balancer saw it; family() == AF_UNSPEC for v1 UNKNOWN, v2 AF_UNSPEC and
  // LOCAL (the balancer's own connection): then the socket's peer is the client.
  reactor::SocketAddress source;
  reactor::SocketAddress destination;
};

// One header per connection: feed() the connection's first bytes until it answers kDone or
// kInvalid. The version is chosen by the signature alone; anything else is kInvalid as soon
// as the first byte that breaks a rule arrives.
//
// v1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN...\r\n", at most 107 bytes,
//     single spaces, numeric addresses of the named family, ports 0-65535 without leading zeros.
// v2: the 12-byte signature, version 2, command PROXY or LOCAL; for PROXY the family and
//     protocol are TCP over IPv4, TCP over IPv6 or UNSPEC, the length covers the addresses, and
//     what follows them is a chain of TLVs that ends exactly at the header's end (skipped by
//     their lengths, values never read). LOCAL ignores the address block, whatever it holds.
class ProxyHeaderParser {
 public:
  enum class Status : uint8_t { kNeedMore, kDone, kInvalid };
  struct Result {
    Status status;
    size_t consumed;  // bytes of `in` that belong to the header (the rest is the protocol's)
  };
  static constexpr size_t kV1MaxLength = 107;
  static constexpr size_t kV2HeaderLength = 16;

  // After kDone or kInvalid, further calls return the same status and consume nothing.
  Result feed(std::string_view in);
  const ProxyHeader& header() const { return header_; }
  // Why the header was refused (a static string, for the log); "" otherwise.
  const char* error() const { return error_; }
  Status status() const { return status_; }

 private:
  Result fail(const char* why, size_t consumed);
  Result feed_v1(std::string_view in);
  Result feed_v2(std::string_view in);
  bool parse_v1_line();
  bool finish_v2_fixed();
  size_t skip_tlvs(std::string_view in);
  void take_v2_addresses();

  ProxyHeader header_;
  Status status_ = Status::kNeedMore;
  const char* error_ = "";
  // v1: the line so far; v2: the 16 fixed bytes, then the address block (at most 36 bytes).
  char buf_[kV1MaxLength + 1] = {};
  size_t have_ = 0;
  // v2, after the fixed part: bytes of the address block still to store, then the TLV walk.
  uint32_t v2_left_ = 0;      // header bytes not yet seen after the fixed 16
  uint32_t v2_addr_len_ = 0;  // size of the address block for the family (0 = none)
  uint8_t tlv_head_have_ = 0;
  uint8_t tlv_head_[3] = {};
  uint32_t tlv_skip_ = 0;  // bytes of the current TLV value still to skip
  bool walk_tlvs_ = false;
};

}  // namespace reactord
