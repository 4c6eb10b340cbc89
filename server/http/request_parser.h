// Incremental, allocation-free HTTP/1.1 request-head parser (RFC 9112). The parsed Request holds
// std::string_views into the caller's receive buffer; nothing is copied or allocated per request.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "http/status.h"

namespace reactord::http {

inline constexpr size_t kMaxHeaders = 100;
inline constexpr size_t kDefaultMaxHeaderBytes = 8192;
// Content-Length values above this are rejected (400) rather than risking overflow anywhere.
inline constexpr uint64_t kMaxContentLength = uint64_t{1} << 62;

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kDelete, kOptions, kPatch, kOther };

enum class BodyFraming : uint8_t {
  kNone,           // no body (RFC 9112 §6.3 rule 7: a request without CL/TE has length 0)
  kContentLength,  // exactly Request::content_length bytes (possibly 0)
  kChunked,        // Transfer-Encoding: chunked
};

struct Header {
  std::string_view name;   // as sent; compare case-insensitively
  std::string_view value;  // leading/trailing OWS removed
};

// A parsed request head. Views point into the buffer passed to RequestParser::parse() and stay
// valid as long as those bytes do. Fields are only meaningful after kComplete (or after kError
// with close == false, see ParseResult).
struct Request {
  Method method = Method::kOther;
  std::string_view method_text;
  std::string_view target;  // as sent
  // What to route on (RFC 9112 §3.2): the target itself in origin-form ("/p?q") and
  // asterisk-form ("*"); for an absolute-form http(s) target ("http://h/p?q") the part from its
  // path on ("/p?q", or "/" when it has none). Any other form is left as sent.
  std::string_view path;
  uint8_t version_minor = 1;  // 0 for HTTP/1.0, 1 for HTTP/1.1 (and HTTP/1.x, x >= 1)
  std::array<Header, kMaxHeaders> header_fields;
  uint32_t header_count = 0;
  // The Host field's value (empty if absent) - or, for an absolute-form target, its authority,
  // which then takes the place of Host (RFC 9112 §3.2.2).
  std::string_view host;
  bool keep_alive = true;
  bool expect_continue = false;  // HTTP/1.1 with "Expect: 100-continue"
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;  // valid when framing == kContentLength

  std::span<const Header> headers() const { return {header_fields.data(), header_count}; }
  // First field named `name` (ASCII case-insensitive), or nullptr.
  const Header* find_header(std::string_view name) const;
};

struct ParserConfig {
  // Upper bound on the head: leading empty lines + request line + fields + final CRLF.
  size_t max_header_bytes = kDefaultMaxHeaderBytes;
};

enum class ParseStatus : uint8_t { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  // kComplete: bytes of the head, including the final empty line; the body (if any) starts here.
  // kError with close == false: same meaning (the head was complete and its framing is valid).
  size_t consumed = 0;
  // kError: status code to answer with (400, 431, 501 or 505).
  uint16_t http_status = 0;
  // kError: true when the connection must be closed after the error response because the message
  // framing can no longer be trusted. When false, the head was fully parsed with valid framing:
  // the caller may answer, skip the body described by the Request, and continue with the next
  // request.
  bool close = false;
};

// Parses one request head at a time. Usage: call parse() with all bytes received so far for the
// current request (the buffer must start at the request's first byte; it may end anywhere and may
// move between calls as long as its contents are preserved). On kIncomplete, call again once more
// bytes have arrived; the parser remembers how far it has looked, so re-calls only scan the new
// bytes until the head can be decided. On kComplete or kError the parser resets itself for the
// next request, which starts at data + consumed (after the body).
class RequestParser {
 public:
  explicit RequestParser(const ParserConfig& config = {}) : config_(config) {}

  ParseResult parse(const char* data, size_t len, Request& request);
  ParseResult parse(std::string_view data, Request& request) {
    return parse(data.data(), data.size(), request);
  }

  // Forgets the progress of an incomplete head (e.g. when the caller drops the connection buffer).
  void reset() {
    resuming_ = false;
    head_start_ = 0;
    line_start_ = 0;
    scan_pos_ = 0;
  }

 private:
  // Full, authoritative parse of the head; a pure function of the bytes apart from updating the
  // resume offsets below when the head is still incomplete.
  ParseResult parse_head(const char* data, size_t len, Request& request);
  // Cheap scan of newly arrived bytes: true when they may decide the head (an empty line, a bare
  // LF, or the size limit reached), so that parse_head() has to run again.
  bool may_decide(const char* data, size_t len);

  ParserConfig config_;
  bool resuming_ = false;  // a previous call returned kIncomplete for this request
  size_t head_start_ = 0;  // offset of the request line (after skipped leading empty lines)
  size_t line_start_ = 0;  // offset of the first incomplete line
  size_t scan_pos_ = 0;    // bytes below this offset have been scanned for LF
};

}  // namespace reactord::http
