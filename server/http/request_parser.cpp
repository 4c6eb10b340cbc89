// HTTP/1.1 request-head parser (RFC 9112 §2-§6), strict on framing because request smuggling
// lives in the gaps between lenient parsers.
//
// How a head is decided: the head is processed line by line. A "decision point" is the first
// of: the empty line ending the head, a bare LF, or the buffered head reaching max_header_bytes.
// Nothing is reported before the decision point is in the buffer; afterwards the result is the
// first problem in byte order (or kComplete). Because the result depends only on the bytes up to
// the decision point, feeding a head whole, in two pieces or byte by byte gives the same answer,
// and between calls the parser only needs to memchr() the new bytes for a possible decision point
// (may_decide) instead of re-parsing: at most two full passes per head however it is split.
//
// Deliberate strictness:
//  * Lines must end in CRLF. RFC 9112 §2.2 lets a recipient accept a bare LF; we don't, because
//    disagreeing with a front proxy about where a line ends is a smuggling vector. Bare LF -> 400.
//  * A CR anywhere but right before LF -> 400 (§2.2 "bare CR").
//  * obs-fold and whitespace before the first field -> 400 (§5.2, §2.2).
#include "http/request_parser.h"

#include <algorithm>
#include <cstring>

#include "http/char_tables.h"

namespace reactord::http {
namespace {

using detail::iequals;
using detail::is_ows;
using detail::is_token_char;
using detail::kHostChar;
using detail::kTokenChar;
using detail::to_lower;
using detail::trim_ows;

inline unsigned char uc(char c) {
  return static_cast<unsigned char>(c);
}

ParseResult error(uint16_t http_status) {
  return {ParseStatus::kError, 0, http_status, /*close=*/true};
}

enum class LineStatus : uint8_t { kOk, kIncomplete, kTooLong, kBareLf };

struct Line {
  LineStatus status;
  size_t begin;  // content is [begin, end), without the CRLF
  size_t end;
  size_t next;  // first byte after the LF
};

// Finds the line starting at `start`. Its LF must lie below max_bytes (the head limit).
inline Line find_line(const char* data, size_t len, size_t max_bytes, size_t start) {
  const size_t limit = std::min(len, max_bytes);
  if (start < limit) {
    const void* hit = std::memchr(data + start, '\n', limit - start);
    if (hit != nullptr) {
      const size_t lf = static_cast<size_t>(static_cast<const char*>(hit) - data);
      if (lf == start || data[lf - 1] != '\r') return {LineStatus::kBareLf, start, lf, lf + 1};
      return {LineStatus::kOk, start, lf - 1, lf + 1};
    }
  }
  return {len >= max_bytes ? LineStatus::kTooLong : LineStatus::kIncomplete, start, 0, 0};
}

Method classify_method(std::string_view m) {
  // Methods are case-sensitive (RFC 9110 §9.1); "get" is an unknown method.
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::kGet;
      if (m == "PUT") return Method::kPut;
      break;
    case 4:
      if (m == "POST") return Method::kPost;
      if (m == "HEAD") return Method::kHead;
      break;
    case 5:
      if (m == "PATCH") return Method::kPatch;
      break;
    case 6:
      if (m == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (m == "OPTIONS") return Method::kOptions;
      break;
    default:
      break;
  }
  return Method::kOther;
}

// request-line = method SP request-target SP HTTP-version. Returns 0 or the error status.
uint16_t parse_request_line(const char* p, const char* end, Request& req) {
  const char* const method = p;
  while (p < end && kTokenChar[uc(*p)]) ++p;
  if (p == method || p == end || *p != ' ') return kStatusBadRequest;
  req.method_text = {method, static_cast<size_t>(p - method)};
  req.method = classify_method(req.method_text);
  ++p;

  const char* const target = p;
  p = detail::skip_target(p, end);
  if (p == target || p == end || *p != ' ') return kStatusBadRequest;
  req.target = {target, static_cast<size_t>(p - target)};
  ++p;

  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive, and nothing after it.
  if (end - p != 8 || std::memcmp(p, "HTTP/", 5) != 0 || !detail::is_digit(uc(p[5])) ||
      p[6] != '.' || !detail::is_digit(uc(p[7]))) {
    return kStatusBadRequest;
  }
  if (p[5] != '1') return kStatusHttpVersionNotSupported;
  // RFC 9110 §2.5: a 1.x message with x > 1 is handled as the highest 1.x we support.
  req.version_minor = p[7] == '0' ? 0 : 1;
  return 0;
}

// field-line = field-name ":" OWS field-value OWS. Returns 0 or the error status.
uint16_t parse_field_line(const char* p, const char* end, Header& field) {
  // A line starting with whitespace is obs-fold, or whitespace before the first field; both are
  // rejected rather than guessed at (RFC 9112 §5.2, §2.2).
  const char* const name = p;
  while (p < end && kTokenChar[uc(*p)]) ++p;
  // Covers: empty name, non-token bytes in the name, whitespace before the colon, no colon.
  if (p == name || p == end || *p != ':') return kStatusBadRequest;
  field.name = {name, static_cast<size_t>(p - name)};
  ++p;

  while (p < end && is_ows(*p)) ++p;
  const char* const value = p;
  p = detail::skip_field_value(p, end);
  if (p != end) return kStatusBadRequest;  // NUL, CR or another CTL
  const char* value_end = end;
  while (value_end > value && is_ows(value_end[-1])) --value_end;
  field.value = {value, static_cast<size_t>(value_end - value)};
  return 0;
}

// Calls f(element) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1),
// with OWS trimmed.
template <typename F>
void for_each_element(std::string_view list, F&& f) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// What the framing- and connection-relevant fields said, accumulated over the whole head.
struct FieldSummary {
  uint32_t host_count = 0;
  bool host_invalid = false;
  bool has_content_length = false;  // the field is present
  bool content_length_invalid = false;
  bool content_length_known = false;  // a value has been parsed into content_length
  uint64_t content_length = 0;
  bool has_transfer_encoding = false;
  bool chunked = false;
  uint16_t transfer_encoding_error = 0;  // first problem in list order
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool expect_continue = false;
};

// Content-Length = 1*DIGIT. A list of identical values ("5, 5") and repeated fields with the same
// value are tolerated as RFC 9110 §8.6 allows; anything else is invalid.
void note_content_length(std::string_view value, FieldSummary& s) {
  s.has_content_length = true;
  size_t i = 0;
  for (;;) {
    while (i < value.size() && is_ows(value[i])) ++i;
    const size_t digits = i;
    uint64_t n = 0;
    while (i < value.size() && detail::is_digit(uc(value[i]))) {
      const auto digit = static_cast<uint64_t>(value[i] - '0');
      if (n > (kMaxContentLength - digit) / 10) {  // would exceed the cap
        s.content_length_invalid = true;
        return;
      }
      n = n * 10 + digit;
      ++i;
    }
    if (i == digits || (s.content_length_known && n != s.content_length)) {
      s.content_length_invalid = true;
      return;
    }
    s.content_length_known = true;
    s.content_length = n;
    while (i < value.size() && is_ows(value[i])) ++i;
    if (i == value.size()) break;
    if (value[i] != ',') {
      s.content_length_invalid = true;
      return;
    }
    ++i;
  }
}

// Transfer-Encoding = #transfer-coding. We implement only chunked (RFC 9112 §7): any other
// coding is 501, chunked applied twice is 400.
void note_transfer_encoding(std::string_view value, FieldSummary& s) {
  s.has_transfer_encoding = true;
  for_each_element(value, [&s](std::string_view element) {
    if (s.transfer_encoding_error != 0) return;
    const size_t semi = element.find(';');
    const std::string_view name = trim_ows(element.substr(0, semi));
    const bool has_params = semi != std::string_view::npos;
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
      s.transfer_encoding_error = kStatusBadRequest;
    } else if (!iequals(name, "chunked")) {
      s.transfer_encoding_error = kStatusNotImplemented;
    } else if (has_params || s.chunked) {
      // chunked takes no parameters, and applying it twice is forbidden (RFC 9112 §6.1).
      s.transfer_encoding_error = kStatusBadRequest;
    } else {
      s.chunked = true;
    }
  });
}

void note_field(const Header& field, FieldSummary& s) {
  // Dispatch on length first so the common uninteresting fields cost one switch.
  const std::string_view name = field.name;
  switch (name.size()) {
    case 4:
      if (iequals(name, "host")) {
        ++s.host_count;
        const std::string_view v = field.value;
        if (!std::all_of(v.begin(), v.end(), [](char c) { return kHostChar[uc(c)]; })) {
          s.host_invalid = true;
        }
      }
      break;
    case 6:
      if (iequals(name, "expect")) {
        for_each_element(field.value, [&s](std::string_view e) {
          if (iequals(e, "100-continue")) s.expect_continue = true;
        });
      }
      break;
    case 10:
      if (iequals(name, "connection")) {
        for_each_element(field.value, [&s](std::string_view e) {
          if (iequals(e, "close")) s.connection_close = true;
          if (iequals(e, "keep-alive")) s.connection_keep_alive = true;
        });
      }
      break;
    case 14:
      if (iequals(name, "content-length")) note_content_length(field.value, s);
      break;
    case 17:
      if (iequals(name, "transfer-encoding")) note_transfer_encoding(field.value, s);
      break;
    default:
      break;
  }
}

// Routing view of the request-target (RFC 9112 §3.2). Origin-form is the common case; an
// absolute-form http/https target must be accepted by a server too (§3.2.2: "MUST accept"), and
// its authority replaces the Host field; "*" is only meaningful for OPTIONS (§3.2.4). Returns 0
// or the error status (400: "*" with another method, or a bad authority).
uint16_t resolve_target(Request& req) {
  const std::string_view t = req.target;
  req.path = t;
  if (t[0] == '/') return 0;
  if (t == "*") return req.method == Method::kOptions ? 0 : kStatusBadRequest;
  size_t scheme_end = t.find("://");
  if (scheme_end == std::string_view::npos) return 0;
  const std::string_view scheme = t.substr(0, scheme_end);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return 0;
  const std::string_view rest = t.substr(scheme_end + 3);
  const size_t path_start = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, path_start);
  // An http URI has a host (RFC 9110 §4.2.1), and userinfo ('@' is not a host character) is
  // an error to be rejected (§4.2.4).
  if (authority.empty() ||
      !std::all_of(authority.begin(), authority.end(), [](char c) { return kHostChar[uc(c)]; }))
    return kStatusBadRequest;
  req.host = authority;
  if (path_start == std::string_view::npos || rest[path_start] != '/') {
    req.path = "/";  // "http://h" and "http://h?q" ask for the root
  } else {
    req.path = rest.substr(path_start);
  }
  return 0;
}

}  // namespace

const Header* Request::find_header(std::string_view name) const {
  for (const Header& h : headers()) {
    if (h.name.size() == name.size() &&
        std::equal(name.begin(), name.end(), h.name.begin(),
                   [](char a, char b) { return to_lower(a) == to_lower(b); })) {
      return &h;
    }
  }
  return nullptr;
}

ParseResult RequestParser::parse(const char* data, size_t len, Request& request) {
  if (resuming_) {
    // A shorter buffer than last time means the caller started over; so do we.
    if (len < scan_pos_) {
      reset();
    } else if (!may_decide(data, len)) {
      return {};
    }
  }
  ParseResult result = parse_head(data, len, request);
  if (result.status == ParseStatus::kIncomplete) {
    resuming_ = true;
  } else {
    reset();
  }
  return result;
}

bool RequestParser::may_decide(const char* data, size_t len) {
  if (len >= config_.max_header_bytes) return true;
  size_t pos = scan_pos_;
  while (pos < len) {
    const void* hit = std::memchr(data + pos, '\n', len - pos);
    if (hit == nullptr) break;
    const size_t lf = static_cast<size_t>(static_cast<const char*>(hit) - data);
    // Bare LF, or an empty line (which ends the head unless it precedes the request line).
    if (lf == line_start_ || data[lf - 1] != '\r' || lf == line_start_ + 1) return true;
    line_start_ = lf + 1;
    pos = lf + 1;
  }
  scan_pos_ = len;
  return false;
}

ParseResult RequestParser::parse_head(const char* data, size_t len, Request& req) {
  const size_t max_bytes = config_.max_header_bytes;
  auto incomplete = [&](size_t line_start) {
    line_start_ = line_start;
    scan_pos_ = len;
    return ParseResult{};
  };
  auto line_failure = [&](const Line& line) {
    if (line.status == LineStatus::kBareLf) return error(kStatusBadRequest);
    if (line.status == LineStatus::kTooLong) return error(kStatusRequestHeaderFieldsTooLarge);
    return incomplete(line.begin);
  };

  // RFC 9112 §2.2: ignore empty lines before the request-line (left over from a previous body).
  Line line;
  for (;;) {
    line = find_line(data, len, max_bytes, head_start_);
    if (line.status != LineStatus::kOk) return line_failure(line);
    if (line.end != line.begin) break;
    head_start_ = line.next;
  }

  // The first syntax problem is remembered, but only reported once the head's decision point is
  // in the buffer (see the top of the file); until then the remaining lines are only scanned.
  uint16_t first_error = parse_request_line(data + line.begin, data + line.end, req);
  req.header_count = 0;
  FieldSummary summary;
  for (;;) {
    line = find_line(data, len, max_bytes, line.next);
    if (line.status != LineStatus::kOk) {
      if (first_error != 0 && line.status != LineStatus::kIncomplete) return error(first_error);
      return line_failure(line);
    }
    if (line.end == line.begin) break;  // the empty line ending the head
    if (first_error != 0) continue;
    if (req.header_count == kMaxHeaders) {
      first_error = kStatusRequestHeaderFieldsTooLarge;
      continue;
    }
    Header& field = req.header_fields[req.header_count];
    first_error = parse_field_line(data + line.begin, data + line.end, field);
    if (first_error != 0) continue;
    ++req.header_count;
    note_field(field, summary);
  }
  if (first_error != 0) return error(first_error);
  const size_t head_bytes = line.next;

  // Framing (RFC 9112 §6.1-§6.3). Every failure here closes: the body length is unknown.
  const bool http10 = req.version_minor == 0;
  req.content_length = 0;
  if (summary.has_transfer_encoding) {
    if (http10) return error(kStatusBadRequest);  // §6.1: 1.0 has no Transfer-Encoding
    if (summary.has_content_length) return error(kStatusBadRequest);  // §6.1: smuggling
    if (summary.transfer_encoding_error != 0) return error(summary.transfer_encoding_error);
    if (!summary.chunked) return error(kStatusBadRequest);  // TE present but no coding listed
    req.framing = BodyFraming::kChunked;
  } else if (summary.has_content_length) {
    if (summary.content_length_invalid) return error(kStatusBadRequest);
    req.framing = BodyFraming::kContentLength;
    req.content_length = summary.content_length;
  } else {
    req.framing = BodyFraming::kNone;
  }
  req.keep_alive = http10 ? summary.connection_keep_alive && !summary.connection_close
                          : !summary.connection_close;
  // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
  req.expect_continue = !http10 && summary.expect_continue;

  // Host (RFC 9112 §3.2). The framing is sound here, so the connection can survive the 400.
  req.host = {};
  req.path = req.target;
  if (summary.host_count == 1) req.host = req.find_header("host")->value;
  if (summary.host_count > 1 || summary.host_invalid || (!http10 && summary.host_count == 0)) {
    return {ParseStatus::kError, head_bytes, kStatusBadRequest, /*close=*/false};
  }
  if (const uint16_t target_error = resolve_target(req); target_error != 0) {
    return {ParseStatus::kError, head_bytes, target_error, /*close=*/false};
  }
  return {ParseStatus::kComplete, head_bytes, 0, false};
}

}  // namespace reactord::http
