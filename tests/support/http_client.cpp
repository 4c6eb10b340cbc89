// Implementation of the HTTP test client: builders, response parser, bounded reads, metrics.
#include "tests/support/http_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace ht {

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string hex(size_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%zx", v);
  return buf;
}

int remaining_ms(uint64_t deadline) {
  uint64_t now = rt::now_ms();
  return now >= deadline ? 0 : static_cast<int>(deadline - now);
}

}  // namespace

// ---------------------------------------------------------------- requests

std::string request(std::string_view method, std::string_view path, std::string_view extra,
                    std::string_view version) {
  std::string r;
  r.append(method).append(" ").append(path).append(" ").append(version).append("\r\n");
  r.append("Host: test\r\n");
  r.append(extra);
  r.append("\r\n");
  return r;
}

std::string post(std::string_view path, std::string_view body, std::string_view extra) {
  std::string h = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  h.append(extra);
  std::string r = request("POST", path, h);
  r.append(body);
  return r;
}

std::string post_chunked(std::string_view path, std::string_view body,
                         const std::vector<size_t>& sizes, std::string_view extra) {
  std::string h = "Transfer-Encoding: chunked\r\n";
  h.append(extra);
  std::string r = request("POST", path, h);
  size_t off = 0, k = 0;
  while (off < body.size()) {
    size_t n = sizes.empty() ? body.size() - off : sizes[k++ % sizes.size()];
    if (n == 0) n = 1;  // a zero-size chunk would end the body
    if (n > body.size() - off) n = body.size() - off;
    r.append(hex(n)).append("\r\n").append(body.substr(off, n)).append("\r\n");
    off += n;
  }
  r.append("0\r\n\r\n");
  return r;
}

// ---------------------------------------------------------------- responses

std::optional<std::string> Response::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return std::nullopt;
}

size_t Response::header_count(std::string_view name) const {
  size_t k = 0;
  for (const auto& h : headers) k += iequals(h.first, name);
  return k;
}

bool Response::says_close() const {
  auto c = header("Connection");
  return c && iequals(*c, "close");
}

std::string Response::normalized_head() const {
  std::string out = status_line + "\r\n";
  for (const auto& [n, v] : headers) out += n + ": " + (iequals(n, "date") ? "*" : v) + "\r\n";
  out += "\r\n";
  return out;
}

std::string Response::normalized() const {
  return normalized_head() + raw.substr(head_size);
}

Parse parse_response(std::string_view buf, bool head_request, bool eof, Response* out,
                     size_t* consumed, std::string* error) {
  *out = Response{};
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buf.size() > 65536) {
      *error = "no end of head within 64 KiB";
      return Parse::kError;
    }
    return Parse::kIncomplete;
  }
  std::string_view headv = buf.substr(0, end + 2);  // lines, each with CRLF
  size_t pos = headv.find("\r\n");
  out->status_line = std::string(headv.substr(0, pos));
  // status-line = HTTP-version SP status-code SP [reason-phrase]
  const std::string& sl = out->status_line;
  if (sl.size() < 12 || sl.compare(0, 9, "HTTP/1.1 ") != 0 || sl[12] != ' ' ||
      sl.find_first_not_of("0123456789", 9) != 12) {
    *error = "bad status line: " + printable(sl);
    return Parse::kError;
  }
  out->code = std::stoi(sl.substr(9, 3));
  pos += 2;
  while (pos < headv.size()) {
    size_t e = headv.find("\r\n", pos);
    std::string_view line = headv.substr(pos, e - pos);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      *error = "bad header line: " + printable(line);
      return Parse::kError;
    }
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    out->headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    pos = e + 2;
  }
  out->head_size = end + 4;
  size_t body_start = out->head_size;

  auto te = out->header("Transfer-Encoding");
  auto cl = out->header("Content-Length");
  const bool no_body =
      head_request || (out->code >= 100 && out->code < 200) || out->code == 204 || out->code == 304;
  if (te && cl) {
    *error = "response has both Transfer-Encoding and Content-Length";
    return Parse::kError;
  }
  if (out->header_count("Content-Length") > 1) {
    *error = "response has several Content-Length fields";
    return Parse::kError;
  }
  size_t body_end = body_start;
  if (no_body) {
    // nothing
  } else if (te) {
    if (!iequals(*te, "chunked")) {
      *error = "unexpected Transfer-Encoding " + *te;
      return Parse::kError;
    }
    out->chunked = true;
    size_t p = body_start;
    for (;;) {
      size_t le = buf.find("\r\n", p);
      if (le == std::string_view::npos) return Parse::kIncomplete;
      std::string_view size_line = buf.substr(p, le - p);
      if (size_line.empty() ||
          size_line.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
        *error = "bad chunk-size line: " + printable(size_line);
        return Parse::kError;
      }
      size_t n = std::stoull(std::string(size_line), nullptr, 16);
      p = le + 2;
      if (n == 0) {
        // Trailer section: we expect none, just the final CRLF.
        if (buf.size() < p + 2) return Parse::kIncomplete;
        if (buf.substr(p, 2) != "\r\n") {
          *error = "trailer fields or junk after the last chunk";
          return Parse::kError;
        }
        body_end = p + 2;
        break;
      }
      if (buf.size() < p + n + 2) return Parse::kIncomplete;
      out->body.append(buf.substr(p, n));
      if (buf.substr(p + n, 2) != "\r\n") {
        *error = "chunk-data not followed by CRLF";
        return Parse::kError;
      }
      p += n + 2;
    }
  } else if (cl) {
    if (cl->empty() || cl->find_first_not_of("0123456789") != std::string::npos) {
      *error = "bad Content-Length " + *cl;
      return Parse::kError;
    }
    size_t n = std::stoull(*cl);
    if (buf.size() < body_start + n) return Parse::kIncomplete;
    out->body = std::string(buf.substr(body_start, n));
    body_end = body_start + n;
  } else {
    out->close_delimited = true;
    if (!eof) return Parse::kIncomplete;
    out->body = std::string(buf.substr(body_start));
    body_end = buf.size();
  }
  out->raw = std::string(buf.substr(0, body_end));
  *consumed = body_end;
  return Parse::kOk;
}

bool is_imf_fixdate(std::string_view s, int64_t* epoch) {
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29) return false;
  auto digits = [&](size_t at, size_t n, int* v) {
    *v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      *v = *v * 10 + (s[i] - '0');
    }
    return true;
  };
  int wday = -1, mon = -1;
  for (int i = 0; i < 7; ++i)
    if (s.substr(0, 3) == kDays[i]) wday = i;
  for (int i = 0; i < 12; ++i)
    if (s.substr(8, 3) == kMonths[i]) mon = i;
  int day, year, hh, mm, ss;
  if (wday < 0 || mon < 0 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' ||
      s[16] != ' ' || s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT" ||
      !digits(5, 2, &day) || !digits(12, 4, &year) || !digits(17, 2, &hh) || !digits(20, 2, &mm) ||
      !digits(23, 2, &ss)) {
    return false;
  }
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return false;
  tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = mon;
  t.tm_mday = day;
  t.tm_hour = hh;
  t.tm_min = mm;
  t.tm_sec = ss;
  time_t e = timegm(&t);
  tm back{};
  gmtime_r(&e, &back);
  if (back.tm_mday != day || back.tm_mon != mon || back.tm_wday != wday) return false;
  if (epoch) *epoch = static_cast<int64_t>(e);
  return true;
}

// ---------------------------------------------------------------- Client

Client::Client(const reactor::SocketAddress& addr, int timeout_ms) {
  fd_ = rt::connect_to(addr, timeout_ms, &error_);
}

void Client::set_nodelay() {
  int one = 1;
  setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool Client::send(std::string_view data, int timeout_ms) {
  return rt::send_all(fd_.get(), data, timeout_ms, &error_);
}

bool Client::poll_in(int wait_ms, bool* eof) {
  *eof = eof_;
  if (eof_) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  ::poll(&p, 1, wait_ms);
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      eof_ = true;
      *eof = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    error_ = std::string("recv: ") + strerror(errno);
    return false;
  }
}

ReadResult Client::read_response(bool head_request, int timeout_ms) {
  ReadResult r;
  uint64_t deadline = rt::now_ms() + static_cast<uint64_t>(timeout_ms);
  for (;;) {
    size_t used = 0;
    std::string perr;
    Parse p = parse_response(in_, head_request, eof_, &r.response, &used, &perr);
    if (p == Parse::kOk) {
      in_.erase(0, used);
      r.ok = true;
      return r;
    }
    if (p == Parse::kError) {
      r.error = perr + " in: " + printable(in_);
      return r;
    }
    if (eof_) {
      r.error = "EOF before a whole response; got: " + printable(in_);
      return r;
    }
    int left = remaining_ms(deadline);
    if (left == 0) {
      r.error = "timed out waiting for a response; got: " + printable(in_);
      return r;
    }
    bool eof = false;
    if (!poll_in(left < 100 ? left : 100, &eof) && !eof) {
      r.error = error_ + "; got: " + printable(in_);
      return r;
    }
  }
}

bool Client::read_responses(size_t n, std::vector<Response>* out, std::string* error,
                            const std::vector<bool>& head_flags, int timeout_ms) {
  uint64_t deadline = rt::now_ms() + static_cast<uint64_t>(timeout_ms);
  for (size_t i = 0; i < n; ++i) {
    bool is_head = i < head_flags.size() && head_flags[i];
    ReadResult r = read_response(is_head, std::max(1, remaining_ms(deadline)));
    if (!r.ok) {
      *error = "response #" + std::to_string(i) + ": " + r.error;
      return false;
    }
    out->push_back(std::move(r.response));
  }
  return true;
}

EofResult Client::read_eof(int timeout_ms) {
  EofResult r;
  uint64_t deadline = rt::now_ms() + static_cast<uint64_t>(timeout_ms);
  r.extra = std::move(in_);
  in_.clear();
  if (eof_) {
    r.eof = true;
    return r;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      r.extra.append(buf, static_cast<size_t>(n));
      if (r.extra.size() > (64u << 20)) {
        r.error = "more than 64 MiB before EOF";
        return r;
      }
      continue;
    }
    if (n == 0) {
      eof_ = true;
      r.eof = true;
      return r;
    }
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) {
      r.reset = true;
      r.error = "connection reset";
      return r;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      r.error = std::string("recv: ") + strerror(errno);
      return r;
    }
    int left = remaining_ms(deadline);
    if (left == 0) {
      r.error = "timed out waiting for EOF";
      return r;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    ::poll(&p, 1, left);
  }
}

ReadResult Client::roundtrip(std::string_view req, bool head_request, int timeout_ms) {
  ReadResult r;
  std::vector<Response> out;
  if (transact(req, 1, {head_request}, &out, &r.error, timeout_ms)) {
    r.ok = true;
    r.response = std::move(out[0]);
  }
  return r;
}

bool Client::transact(std::string_view data, size_t n, const std::vector<bool>& head_flags,
                      std::vector<Response>* out, std::string* error, int timeout_ms) {
  uint64_t deadline = rt::now_ms() + static_cast<uint64_t>(timeout_ms);
  size_t sent = 0;
  bool send_failed = false;
  size_t got = 0;
  for (;;) {
    // Parse what has arrived.
    while (got < n) {
      bool is_head = got < head_flags.size() && head_flags[got];
      Response resp;
      size_t used = 0;
      std::string perr;
      Parse p = parse_response(in_, is_head, eof_, &resp, &used, &perr);
      if (p == Parse::kError) {
        *error = "response #" + std::to_string(got) + ": " + perr + " in: " + printable(in_);
        return false;
      }
      if (p == Parse::kIncomplete) break;
      in_.erase(0, used);
      out->push_back(std::move(resp));
      ++got;
    }
    if (got == n) return true;  // the rest of the request bytes (if any) stay unsent
    if (eof_) {
      *error = "EOF after " + std::to_string(got) + " of " + std::to_string(n) +
               " responses (sent " + std::to_string(sent) + " of " + std::to_string(data.size()) +
               " bytes); pending: " + printable(in_);
      return false;
    }
    int left = remaining_ms(deadline);
    if (left == 0) {
      *error = "timed out after " + std::to_string(got) + " of " + std::to_string(n) +
               " responses (sent " + std::to_string(sent) + " of " + std::to_string(data.size()) +
               " bytes); pending: " + printable(in_);
      return false;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    if (sent < data.size() && !send_failed) p.events |= POLLOUT;
    ::poll(&p, 1, left < 100 ? left : 100);
    while (sent < data.size() && !send_failed) {
      ssize_t w =
          ::send(fd_.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        sent += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      send_failed = true;  // the server may have answered and closed: keep reading
    }
    bool eof = false;
    if (!poll_in(0, &eof) && !eof) {
      *error = error_ + " after " + std::to_string(got) + " responses; pending: " + printable(in_);
      return false;
    }
  }
}

// ---------------------------------------------------------------- metrics

Metrics parse_metrics(std::string_view text) {
  Metrics m;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos) continue;
    m[std::string(line.substr(0, sp))] = std::stod(std::string(line.substr(sp + 1)));
  }
  return m;
}

Metrics scrape(const reactor::SocketAddress& addr) {
  Client c(addr);
  if (!c.ok()) {
    ADD_FAILURE() << "metrics: connect: " << c.error();
    return {};
  }
  ReadResult r = c.roundtrip(scrape_request());
  if (!r.ok || r.response.code != 200) {
    ADD_FAILURE() << "metrics: " << (r.ok ? r.response.status_line : r.error);
    return {};
  }
  return parse_metrics(r.response.body);
}

std::string scrape_request() {
  return get("/metrics", "Connection: close\r\n");
}

double sum_family(const Metrics& m, const std::string& family) {
  double total = 0;
  for (const auto& [k, v] : m) {
    if (k == family || (k.starts_with(family) && k[family.size()] == '{')) total += v;
  }
  return total;
}

bool wait_server_read(const reactor::SocketAddress& addr, const Metrics& before, size_t bytes,
                      int timeout_ms) {
  const std::string family = "reactord_received_bytes_total";
  const double base = sum_family(before, family);
  const double per_scrape = static_cast<double>(scrape_request().size());
  uint64_t deadline = rt::now_ms() + static_cast<uint64_t>(timeout_ms);
  for (int k = 1;; ++k) {
    Metrics m = scrape(addr);
    if (m.empty()) return false;
    if (sum_family(m, family) - base >= static_cast<double>(bytes) + k * per_scrape) return true;
    if (rt::now_ms() >= deadline) return false;
    rt::sleep_ms(20);
  }
}

double value(const Metrics& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

std::string responses_key(int code) {
  return "reactord_http_responses_total{code=\"" + std::to_string(code) + "\"}";
}

std::string rejected_key(std::string_view reason) {
  return "reactord_http_rejected_requests_total{reason=\"" + std::string(reason) + "\"}";
}

// ---------------------------------------------------------------- fixture

bool HttpServerTest::start(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--threads", "2", "--listen", "http=127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  [&] { RT_START_REACTORD(server_, GetParam(), args); }();
  return !IsSkipped() && !HasFatalFailure();
}

std::string printable(std::string_view s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return "\"" + out + "\"";
}

testing::AssertionResult is_200(const ReadResult& r) {
  if (!r.ok) return testing::AssertionFailure() << "no response: " << r.error;
  if (r.response.status_line != "HTTP/1.1 200 OK")
    return testing::AssertionFailure() << "status line: " << r.response.status_line;
  return testing::AssertionSuccess();
}

testing::AssertionResult is_200(const ReadResult& r, std::string_view body) {
  testing::AssertionResult status = is_200(r);
  if (!status || r.response.body == body) return status;
  const std::string& got = r.response.body;
  size_t at = 0;
  while (at < got.size() && at < body.size() && got[at] == body[at]) ++at;
  return testing::AssertionFailure() << "body of " << got.size() << " bytes, expected "
                                     << body.size() << "; first difference at " << at << ": "
                                     << printable(std::string_view(got).substr(at), 80);
}

}  // namespace ht
