// HttpResponseParser: line splitting across reads, status line, framing headers, chunked bodies.
#include "bench/loadgen/http_response_parser.h"

#include <cstring>

namespace reactord::bench {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != b[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for each comma-separated, trimmed, non-empty list element.
template <typename Fn>
void for_each_token(std::string_view v, Fn fn) {
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view tok = trim(v.substr(0, comma));
    if (!tok.empty()) fn(tok);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

}  // namespace

void HttpResponseParser::next() {
  state_ = State::kStatusLine;
  status_ = 0;
  chunked_ = false;
  has_te_ = false;
  content_length_ = -1;
  remaining_ = 0;
  line_.clear();
}

void HttpResponseParser::reset() {
  next();
  keep_alive_ = true;
  error_ = "";
}

size_t HttpResponseParser::feed(const char* p, size_t n) {
  size_t pos = 0;
  while (pos < n) {
    switch (state_) {
      case State::kStatusLine:
      case State::kHeaders:
      case State::kChunkSize:
      case State::kChunkEnd:
      case State::kTrailers: {
        const char* start = p + pos;
        const char* nl = static_cast<const char*>(memchr(start, '\n', n - pos));
        if (nl == nullptr) {
          if (line_.size() + (n - pos) > kMaxLine) {
            fail("header or chunk line too long");
            return n;
          }
          line_.append(start, n - pos);
          return n;
        }
        size_t len = static_cast<size_t>(nl - start);
        pos += len + 1;
        std::string_view line;
        if (line_.empty()) {
          line = std::string_view(start, len);
        } else {
          if (line_.size() + len > kMaxLine) {
            fail("header or chunk line too long");
            return pos;
          }
          line_.append(start, len);
          line = line_;
        }
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        bool ok = on_line(line);
        line_.clear();
        if (!ok || state_ == State::kDone) return pos;
        break;
      }
      case State::kBody:
      case State::kChunkData: {
        uint64_t take = n - pos;
        if (take > remaining_) take = remaining_;
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          if (state_ == State::kBody) {
            state_ = State::kDone;
            return pos;
          }
          state_ = State::kChunkEnd;
        }
        break;
      }
      case State::kUntilClose:
        return n;
      case State::kDone:
      case State::kError:
        return pos;
    }
  }
  return pos;
}

bool HttpResponseParser::on_eof() {
  if (state_ == State::kUntilClose) {
    state_ = State::kDone;
    return true;
  }
  if (state_ != State::kDone && state_ != State::kError && in_progress())
    fail("connection closed in the middle of a response");
  return false;
}

bool HttpResponseParser::on_line(std::string_view line) {
  switch (state_) {
    case State::kStatusLine:
      if (line.empty()) return true;  // tolerate stray CRLF between responses
      return on_status_line(line);
    case State::kHeaders:
      if (line.empty()) return on_headers_end();
      return on_header(line);
    case State::kChunkSize:
      return on_chunk_size(line);
    case State::kChunkEnd:
      if (!line.empty()) return fail("chunk data longer than its size");
      state_ = State::kChunkSize;
      return true;
    case State::kTrailers:
      if (line.empty()) state_ = State::kDone;
      return true;  // trailer fields carry nothing a load generator needs
    default:
      return fail("internal: line in a body state");
  }
}

bool HttpResponseParser::on_status_line(std::string_view line) {
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' ||
      line[8] != ' ')
    return fail("malformed status line");
  int code = 0;
  for (int i = 9; i < 12; ++i) {
    char c = line[static_cast<size_t>(i)];
    if (c < '0' || c > '9') return fail("malformed status code");
    code = code * 10 + (c - '0');
  }
  if (line.size() > 12 && line[12] != ' ') return fail("malformed status code");
  if (code < 100) return fail("status code below 100");
  status_ = code;
  keep_alive_ = line[7] != '0';  // HTTP/1.1 defaults to persistent, 1.0 to close
  state_ = State::kHeaders;
  return true;
}

bool HttpResponseParser::on_header(std::string_view line) {
  if (line[0] == ' ' || line[0] == '\t') return true;  // obsolete line folding: ignore
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return fail("malformed header line");
  std::string_view name = line.substr(0, colon);
  if (name.back() == ' ' || name.back() == '\t') return fail("whitespace before header colon");
  // Only three headers matter; the first letter rules out the rest cheaply.
  char first = lower(name[0]);
  if (first != 'c' && first != 't') return true;
  std::string_view value = trim(line.substr(colon + 1));
  if (iequals(name, "content-length")) {
    if (value.empty()) return fail("empty Content-Length");
    int64_t v = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return fail("malformed Content-Length");
      if (v > (INT64_MAX - 9) / 10) return fail("Content-Length overflow");
      v = v * 10 + (c - '0');
    }
    if (content_length_ >= 0 && content_length_ != v) return fail("conflicting Content-Length");
    content_length_ = v;
  } else if (iequals(name, "transfer-encoding")) {
    has_te_ = true;
    chunked_ = false;
    // Only a final "chunked" coding frames the body; anything else runs to the close.
    for_each_token(value, [this](std::string_view tok) { chunked_ = iequals(tok, "chunked"); });
  } else if (iequals(name, "connection")) {
    for_each_token(value, [this](std::string_view tok) {
      if (iequals(tok, "close")) keep_alive_ = false;
      if (iequals(tok, "keep-alive")) keep_alive_ = true;
    });
  }
  return true;
}

bool HttpResponseParser::on_headers_end() {
  if (status_ < 200) {
    if (status_ == 101) return fail("101 Switching Protocols is not supported");
    // Interim response (100 Continue, 103 Early Hints): the real one follows.
    bool ka = keep_alive_;
    next();
    keep_alive_ = ka;
    return true;
  }
  if (status_ == 204 || status_ == 304) {
    state_ = State::kDone;
    return true;
  }
  if (has_te_) {
    if (chunked_) {
      state_ = State::kChunkSize;
    } else {
      state_ = State::kUntilClose;
      keep_alive_ = false;
    }
    return true;
  }
  if (content_length_ >= 0) {
    remaining_ = static_cast<uint64_t>(content_length_);
    state_ = remaining_ == 0 ? State::kDone : State::kBody;
    return true;
  }
  state_ = State::kUntilClose;
  keep_alive_ = false;
  return true;
}

bool HttpResponseParser::on_chunk_size(std::string_view line) {
  uint64_t size = 0;
  size_t i = 0;
  for (; i < line.size(); ++i) {
    char c = line[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (lower(c) >= 'a' && lower(c) <= 'f')
      d = lower(c) - 'a' + 10;
    else
      break;
    if (size >> 56) return fail("chunk size overflow");
    size = size * 16 + static_cast<uint64_t>(d);
  }
  if (i == 0) return fail("malformed chunk size");
  std::string_view rest = trim(line.substr(i));
  if (!rest.empty() && rest[0] != ';') return fail("malformed chunk size");
  if (size == 0) {
    state_ = State::kTrailers;
  } else {
    remaining_ = size;
    state_ = State::kChunkData;
  }
  return true;
}

}  // namespace reactord::bench
