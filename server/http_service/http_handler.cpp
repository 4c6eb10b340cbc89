// HttpHandler: request state machine over pool buffers, canned responses, endpoint routing.
#include "server/http_service/http_handler.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "http/http_date.h"
#include "http/status.h"
#include "server/client_address.h"
#include "server/http_service/request_clock.h"
#include "server/options.h"

namespace reactord {

using reactor::Buffer;
using reactor::Connection;

// A chunked POST /echo body being collected. Small bodies live in a std::string whose capacity
// the next request reuses; past kMapThreshold the bytes move to an anonymous mapping that grows
// with mremap and is unmapped when released. A big body's memory then goes back to the kernel
// the moment it is let go: freed heap memory stays with the allocator (a few hundred
// connections leaving with a megabyte each left ~80 MiB resident behind), a munmap does not.
class CollectedBody {
 public:
  static constexpr size_t kMapThreshold = 64 * 1024;
  static constexpr size_t kKeepCapacity = 4 * 1024;

  CollectedBody() = default;
  CollectedBody(const CollectedBody&) = delete;
  CollectedBody& operator=(const CollectedBody&) = delete;
  ~CollectedBody() { unmap(); }

  // False when the memory cannot be had (the body is then unchanged).
  bool append(std::string_view piece) {
    if (!map_ && small_.size() + piece.size() <= kMapThreshold) {
      small_.append(piece);
      return true;
    }
    if (!reserve_mapped(size() + piece.size())) return false;
    if (map_size_ == 0 && !small_.empty()) {
      memcpy(map_, small_.data(), small_.size());
      map_size_ = small_.size();
      std::string().swap(small_);  // its capacity (up to kMapThreshold) is not kept
    }
    memcpy(map_ + map_size_, piece.data(), piece.size());
    map_size_ += piece.size();
    return true;
  }
  std::string_view view() const {
    return map_ ? std::string_view(map_, map_size_) : std::string_view(small_);
  }
  size_t size() const { return map_ ? map_size_ : small_.size(); }
  // Empties it: a mapping is unmapped; a small buffer keeps a modest capacity for the next
  // request, but not tens of KiB per pooled connection state.
  void release() {
    unmap();
    if (small_.capacity() > kKeepCapacity)
      std::string().swap(small_);
    else
      small_.clear();
  }

 private:
  bool reserve_mapped(size_t need) {
    if (map_ && need <= map_cap_) return true;
    const size_t page = 4096;
    size_t cap = map_cap_ ? map_cap_ : 2 * kMapThreshold;
    while (cap < need) cap *= 2;
    cap = (cap + page - 1) / page * page;
    void* p = map_ ? mremap(map_, map_cap_, cap, MREMAP_MAYMOVE)
                   : mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    map_ = static_cast<char*>(p);
    map_cap_ = cap;
    return true;
  }
  void unmap() {
    if (map_) munmap(map_, map_cap_);
    map_ = nullptr;
    map_size_ = map_cap_ = 0;
  }

  std::string small_;
  char* map_ = nullptr;
  size_t map_size_ = 0;
  size_t map_cap_ = 0;
};

// Per-connection HTTP state. Lives in the handler's free list between connections.
class HttpConn : public reactor::TimerNode {
 public:
  enum class State : uint8_t { kHead, kBody };
  explicit HttpConn(const http::ParserConfig& pc) : parser(pc) {}
  Connection* conn = nullptr;
  HttpHandler* handler = nullptr;
  http::RequestParser parser;
  http::BodyDecoder body;
  Buffer pending;  // an incomplete head (and what follows it), kept across reads
  State state = State::kHead;
  HttpHandler::Route route = HttpHandler::Route::kDiscard;
  bool keep_alive = true;
  bool version_10 = false;
  // POST /echo of a chunked body: its length is known only at the end, and it may still turn
  // out too large (413), so it is collected here (at most --max-body) and answered whole.
  // Its bytes count against the loop's --buffer-memory budget (Connection::add_held_bytes)
  // from the moment they are collected until the reply is queued or the connection goes.
  bool collect = false;
  CollectedBody collected;
  bool close_after = false;     // answer, then close (drain, Connection: close, errors)
  bool collect_failed = false;  // no memory for the body: 503, then close
  uint64_t head_start = 0;      // RequestClock::now() when the head's first bytes were parsed
  // --access-log only. The request's "METHOD TARGET", copied at its head because a chunked
  // POST /echo is answered after its receive buffer is gone (the string keeps its capacity:
  // no allocation per request once warm); empty before a head is parsed.
  std::string log_request;
  char client[64];  // the client address as text, found at the first log line
  uint8_t client_len = 0;

  bool collect_piece(Connection& c, std::string_view piece) {
    if (!collected.append(piece)) return false;
    c.add_held_bytes(static_cast<int64_t>(piece.size()));
    return true;
  }
  // Forgets the collected body, its budget share and (if it was big) its memory.
  void release_collected(Connection& c) {
    if (collected.size() > 0) c.add_held_bytes(-static_cast<int64_t>(collected.size()));
    collected.release();
    collect = false;
  }
};

namespace {
constexpr std::string_view kServerLine = "Server: reactord\r\n";
constexpr std::string_view kPlainBody = "Hello, World!";
constexpr std::string_view kJsonBody = "{\"message\":\"Hello, World!\"}";

bool path_is(std::string_view target, std::string_view path) {
  if (!target.starts_with(path)) return false;
  return target.size() == path.size() || target[path.size()] == '?';
}

char* put(char* p, std::string_view s) {
  if (!s.empty()) memcpy(p, s.data(), s.size());  // an empty view may hold a null pointer
  return p + s.size();
}

char* put_uint(char* p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}
}  // namespace

HttpHandler::HttpHandler(reactor::EventLoop& loop, const HttpContext& context,
                         const HttpConfig& config)
    : loop_(loop),
      draining_(context.draining),
      stopping_(context.stopping ? context.stopping : context.draining),
      metrics_(context.metrics),
      config_(config),
      stats_(context.stats->add()) {
  RequestClock::init();
  if (context.access_log)
    access_log_ = std::make_unique<AccessLogWriter>(*context.access_log, loop.timers());
}

HttpHandler::~HttpHandler() = default;

void HttpHandler::refresh_date() {
  uint64_t sec = loop_.now_ms() / 1000;
  if (sec == date_sec_) return;
  date_sec_ = sec;
  char* p = put(date_line_, "Date: ");
  p += http::format_http_date(static_cast<int64_t>(time(nullptr)), p);
  p = put(p, "\r\n");
  date_len_ = static_cast<size_t>(p - date_line_);
}

void HttpHandler::on_open(Connection& c) {
  std::unique_ptr<HttpConn> h;
  if (!free_.empty()) {
    h = std::move(free_.back());
    free_.pop_back();
  } else {
    h = std::make_unique<HttpConn>(http::ParserConfig{config_.max_header_bytes});
    h->set_callback(&HttpHandler::on_header_timeout);
  }
  h->conn = &c;
  h->handler = this;
  h->parser.reset();
  h->state = HttpConn::State::kHead;
  h->keep_alive = true;
  h->close_after = false;
  h->collect = false;
  h->log_request.clear();
  h->head_start = 0;
  h->client_len = 0;
  c.set_user(h.release());
}

void HttpHandler::on_close(Connection& c) {
  auto* h = static_cast<HttpConn*>(c.user());
  if (!h) return;
  c.set_user(nullptr);
  h->cancel();
  h->pending.reset();
  // A body cut short by the close: its bytes leave the loop's budget and its memory goes back
  // now. A pooled HttpConn must not keep a megabyte of capacity for its next connection.
  h->release_collected(c);
  h->conn = nullptr;
  free_.push_back(std::unique_ptr<HttpConn>(h));
}

void HttpHandler::on_peer_closed(Connection& c) {
  // A client that half-closes after its last request still gets every answer; then we close.
  c.close();
}

void HttpHandler::on_drain(Connection& c) {
  auto* h = static_cast<HttpConn*>(c.user());
  if (!h) return;
  // Every answer from now on says Connection: close and ends its connection. An idle
  // keep-alive connection is left to the loop's drain-quiet timer (1 s) rather than cut at
  // once, so a request already on its way - a health check, say - still gets its 503.
  h->close_after = true;
}

void HttpHandler::on_header_timeout(reactor::TimerNode* node) {
  auto* h = static_cast<HttpConn*>(node);
  if (!h->conn || !h->conn->is_open()) return;
  h->handler->stats_->header_timeouts.add();
  h->pending.reset();
  h->handler->send_error(*h->conn, *h, http::kStatusRequestTimeout, true);
}

void HttpHandler::on_data(Connection& c, Buffer&& data) {
  consume(c, std::move(data));
  // Between requests with nothing half-read: the first to go if --max-conns is reached.
  auto* h = static_cast<HttpConn*>(c.user());
  if (h && c.is_open()) c.set_reclaimable(h->state == HttpConn::State::kHead && !h->pending);
}

void HttpHandler::consume(Connection& c, Buffer&& data) {
  auto* h = static_cast<HttpConn*>(c.user());
  if (!h || !c.is_open()) return;
  refresh_date();
  if (!h->pending) {
    size_t used = process(c, *h, data.data(), data.size());
    if (used < data.size() && c.is_open()) {
      data.consume_front(used);
      keep_pending(c, *h, std::move(data));
    }
    return;
  }
  // Append to the kept head, compacting to the buffer start; the head limit (8 KiB by
  // default, at most half a buffer) guarantees the parser decides before the buffer fills.
  const char* src = data.data();
  size_t left = data.size();
  const size_t cap = loop_.buffers().buffer_size();
  while (left > 0 && c.is_open() && h->pending) {
    Buffer& pb = h->pending;
    if (pb.begin() > 0) {
      memmove(loop_.buffers().address(pb.id()), pb.data(), pb.size());
      pb.set_range(0, static_cast<uint32_t>(pb.size()));
    }
    size_t room = cap - pb.end();
    size_t n = left < room ? left : room;
    memcpy(loop_.buffers().address(pb.id()) + pb.end(), src, n);
    pb.set_range(pb.begin(), pb.end() + static_cast<uint32_t>(n));
    src += n;
    left -= n;
    size_t used = process(c, *h, pb.data(), pb.size());
    if (used == pb.size()) {
      h->pending.reset();
    } else if (used > 0) {
      pb.consume_front(used);
    } else if (n == 0) {
      // Cannot happen with max_header_bytes < buffer size; refuse rather than spin.
      stats_->too_large_heads.add();
      send_error(c, *h, http::kStatusRequestHeaderFieldsTooLarge, true);
      return;
    }
  }
  if (left > 0 && c.is_open()) {
    size_t used = process(c, *h, src, left);
    if (used < left && c.is_open()) {
      data.consume_front(static_cast<size_t>(src - data.data()) + used);
      keep_pending(c, *h, std::move(data));
    }
  }
}

void HttpHandler::keep_pending(Connection& c, HttpConn& h, Buffer&& rest) {
  // An incomplete head waits for the next read in this very buffer (no copy) - unless it is
  // an io_uring receive-ring buffer: slow heads (slowloris) must not hold the ring's buffers
  // for up to --header-timeout, so those few bytes move to an ordinary pool buffer.
  reactor::BufferPool& pool = loop_.buffers();
  if (!pool.is_scarce(rest.id())) {
    h.pending = std::move(rest);
    return;
  }
  Buffer copy = pool.acquire();
  if (!copy) {
    send_error(c, h, http::kStatusServiceUnavailable, true);
    return;
  }
  memcpy(copy.data(), rest.data(), rest.size());
  copy.set_range(0, static_cast<uint32_t>(rest.size()));
  h.pending = std::move(copy);
}

size_t HttpHandler::process(Connection& c, HttpConn& h, const char* p, size_t n) {
  size_t off = 0;
  while (off < n && c.is_open()) {
    if (h.state == HttpConn::State::kHead) {
      if (h.head_start == 0) h.head_start = RequestClock::now();
      http::ParseResult r = h.parser.parse(p + off, n - off, request_);
      if (r.status == http::ParseStatus::kIncomplete) {
        // A head has started: the whole head must arrive within the deadline (not per byte).
        if (!h.armed() && config_.header_timeout_ms > 0)
          loop_.timers().schedule(&h, config_.header_timeout_ms);
        return off;
      }
      h.cancel();
      if (r.status == http::ParseStatus::kError) {
        switch (r.http_status) {
          case http::kStatusRequestHeaderFieldsTooLarge:
            stats_->too_large_heads.add();
            break;
          case http::kStatusNotImplemented:
            stats_->not_implemented.add();
            break;
          default:
            stats_->bad_requests.add();
            break;
        }
        // Nothing of this request can be trusted - not even when its framing was sound (a bad
        // Host): answer as HTTP/1.1 with Connection: close, never with the keep-alive or
        // version state a previous request on this connection left behind, and close.
        h.keep_alive = false;
        h.version_10 = false;
        send_error(c, h, r.http_status, true);
        return n;
      }
      off += r.consumed;
      if (!on_head(c, h)) return n;
      continue;
    }
    // Body: stream it (POST /echo) or skip it.
    HttpConn* hp = &h;
    http::BodyResult br = h.body.feed(p + off, n - off, [this, &c, hp](std::string_view piece) {
      if (hp->route != Route::kEcho) return;
      if (hp->collect) {
        if (!hp->collect_piece(c, piece)) hp->collect_failed = true;
      } else {
        c.send(piece);  // Content-Length body: its reply header is out, stream it through
      }
    });
    off += br.consumed;
    if (h.collect_failed) {
      // The body could not be kept (out of memory): nothing of the reply has gone out yet.
      h.release_collected(c);
      h.collect_failed = false;
      send_error(c, h, http::kStatusServiceUnavailable, true);
      return n;
    }
    if (br.status == http::BodyStatus::kNeedMore) continue;
    if (br.status == http::BodyStatus::kError) {
      if (br.http_status == http::kStatusContentTooLarge)
        stats_->too_large_bodies.add();
      else
        stats_->bad_requests.add();
      if (h.route == Route::kEcho && h.collect) {
        // Nothing of this request's reply has gone out yet: answer the error itself.
        h.release_collected(c);
        send_error(c, h, br.http_status, true);
      } else {
        // This request was already answered at its head; the framing of what follows is
        // lost, so the connection ends without a second response.
        c.close();
      }
      return n;
    }
    finish_request(c, h);
  }
  return off;
}

bool HttpHandler::on_head(Connection& c, HttpConn& h) {
  const http::Request& rq = request_;
  // Read once: the main thread may set it at any moment, and a "draining" answer must carry
  // the Connection: close that the same reading decides.
  const bool draining = draining_->load(std::memory_order_relaxed);
  h.keep_alive = rq.keep_alive && !h.close_after && !draining;
  h.version_10 = rq.version_minor == 0;
  h.collect = false;
  const bool is_get = rq.method == http::Method::kGet;
  const bool is_head = rq.method == http::Method::kHead;
  std::string_view t = rq.path;  // origin-form, or the path of an absolute-form target
  h.route = Route::kDiscard;
  if (access_log_) {
    std::string_view target = rq.target.substr(0, AccessLogWriter::kMaxLine / 2);
    h.log_request.assign(rq.method_text);
    h.log_request += ' ';
    h.log_request += target;
  }
  h.body = http::BodyDecoder(rq, http::BodyConfig{config_.max_body});
  h.state = HttpConn::State::kBody;
  if (h.body.failed()) {  // Content-Length above --max-body: refuse before reading it
    stats_->too_large_bodies.add();
    send_error(c, h, http::kStatusContentTooLarge, true);
    return false;
  }
  // The common case first, before the routing below builds its helpers: GET (or HEAD) of a
  // fixed page.
  if (is_get || is_head) {
    std::string_view type, page;
    if (path_is(t, "/plaintext")) {
      type = "text/plain";
      page = kPlainBody;
    } else if (path_is(t, "/json")) {
      type = "application/json";
      page = kJsonBody;
    }
    if (!page.empty()) {
      send_simple(c, h, http::kStatusOk, type, page, is_head);
      if (h.body.done()) finish_request(c, h);
      return c.is_open();
    }
  }
  const bool close = !h.keep_alive;
  // The methods a path answers, in its Allow header (405, OPTIONS).
  constexpr std::string_view kReadOnly = "GET, HEAD, OPTIONS";
  constexpr std::string_view kPostOnly = "POST, OPTIONS";
  constexpr std::string_view kEverything = "GET, HEAD, POST, OPTIONS";  // OPTIONS *
  auto allow_header = [](char* out, std::string_view allow) {
    return std::string_view(
        out, static_cast<size_t>(put(put(put(out, "Allow: "), allow), "\r\n") - out));
  };
  char extra[64];
  auto not_allowed = [&](std::string_view allow) {
    send_simple(c, h, http::kStatusMethodNotAllowed, "text/plain", "method not allowed\n", is_head,
                allow_header(extra, allow));
  };
  // OPTIONS (RFC 9110 §9.3.7): 200 naming the methods in Allow, no content.
  auto options = [&](std::string_view allow) {
    send_simple(c, h, http::kStatusOk, "text/plain", {}, false, allow_header(extra, allow));
  };
  auto get_only = [&](std::string_view type, std::string_view body) {
    if (is_get || is_head)
      send_simple(c, h, http::kStatusOk, type, body, is_head);
    else if (rq.method == http::Method::kOptions)
      options(kReadOnly);
    else
      not_allowed(kReadOnly);
  };
  if (rq.method == http::Method::kOther) {
    // A method we do not know at all (RFC 9110 §15.6.2): 501, whatever the path. 405 is for
    // the methods we know but that path does not take. The framing is sound: the connection
    // goes on after the body is skipped.
    stats_->not_implemented.add();
    send_simple(c, h, http::kStatusNotImplemented, "text/plain", "not implemented\n", false);
  } else if (t == "*") {  // asterisk-form: the parser lets it through for OPTIONS only
    options(kEverything);
  } else if (path_is(t, "/plaintext")) {
    get_only("text/plain", kPlainBody);
  } else if (path_is(t, "/json")) {
    get_only("application/json", kJsonBody);
  } else if (path_is(t, "/health")) {
    if (draining && (is_get || is_head)) {
      send_simple(c, h, http::kStatusServiceUnavailable, "text/plain", "draining\n", is_head);
    } else {
      get_only("text/plain", "ok\n");
    }
  } else if (path_is(t, "/live")) {
    get_only("text/plain", "ok\n");  // answered by a loop, so the process works
  } else if (path_is(t, "/ready")) {
    if (stopping_->load(std::memory_order_relaxed) && (is_get || is_head)) {
      send_simple(c, h, http::kStatusServiceUnavailable, "text/plain", "draining\n", is_head);
    } else {
      get_only("text/plain", "ready\n");
    }
  } else if (metrics_ && path_is(t, "/metrics")) {
    if (is_get || is_head) {
      metrics_->render(metrics_scratch_);
      send_simple(c, h, http::kStatusOk, "text/plain; version=0.0.4; charset=utf-8",
                  metrics_scratch_, is_head);
    } else if (rq.method == http::Method::kOptions) {
      options(kReadOnly);
    } else {
      not_allowed(kReadOnly);
    }
  } else if (path_is(t, "/echo")) {
    if (rq.method == http::Method::kPost) {
      h.route = Route::kEcho;
      if (rq.expect_continue && rq.framing != http::BodyFraming::kNone)
        c.send("HTTP/1.1 100 Continue\r\n\r\n");
      if (rq.framing == http::BodyFraming::kChunked) {
        h.collect = true;  // answered in finish_request, once the length is known
        h.collect_failed = false;
        h.release_collected(c);
        h.collect = true;
      } else {
        size_t sent =
            write_status_and_common(c, http::kStatusOk, close, h.version_10 && h.keep_alive);
        char hdr[96];
        char* e = put(hdr, "Content-Type: application/octet-stream\r\nContent-Length: ");
        uint64_t length = rq.framing == http::BodyFraming::kContentLength ? rq.content_length : 0;
        e = put_uint(e, length);
        e = put(e, "\r\n\r\n");
        c.send(hdr, static_cast<size_t>(e - hdr));
        responded(c, h, http::kStatusOk, sent + static_cast<size_t>(e - hdr) + length);
      }
    } else if (rq.method == http::Method::kOptions) {
      options(kPostOnly);
    } else {
      not_allowed(kPostOnly);
    }
  } else {
    send_simple(c, h, http::kStatusNotFound, "text/plain", "not found\n", is_head);
  }
  if (h.body.done()) finish_request(c, h);
  return c.is_open();
}

void HttpHandler::finish_request(Connection& c, HttpConn& h) {
  if (h.route == Route::kEcho && h.collect) {
    // The reply copies the body into the write queue (counted there); the collected copy,
    // and its memory if it was big, go back now rather than at the next request.
    send_simple(c, h, http::kStatusOk, "application/octet-stream", h.collected.view(), false);
    h.release_collected(c);
  }
  h.state = HttpConn::State::kHead;
  h.route = Route::kDiscard;
  if (!h.keep_alive || h.close_after) c.close();
}

char* HttpHandler::put_status_and_common(char* p, uint16_t status, bool close,
                                         bool keep_alive_header) const {
  p = put(p, "HTTP/1.1 ");
  p = put_uint(p, status);
  *p++ = ' ';
  p = put(p, http::reason_phrase(status));
  p = put(p, "\r\n");
  p = put(p, kServerLine);
  p = put(p, std::string_view(date_line_, date_len_));
  if (close)
    p = put(p, "Connection: close\r\n");
  else if (keep_alive_header)
    p = put(p, "Connection: keep-alive\r\n");
  return p;
}

size_t HttpHandler::write_status_and_common(Connection& c, uint16_t status, bool close,
                                            bool keep_alive_header) {
  char buf[256];
  char* p = put_status_and_common(buf, status, close, keep_alive_header);
  c.send(buf, static_cast<size_t>(p - buf));
  return static_cast<size_t>(p - buf);
}

void HttpHandler::responded(Connection& c, HttpConn& h, uint16_t status, uint64_t bytes) {
  stats_->count(status);
  const uint64_t duration_us =
      h.head_start ? RequestClock::to_us(RequestClock::now() - h.head_start) : 0;
  if (h.head_start) stats_->observe_duration(duration_us);
  h.head_start = 0;
  if (!access_log_) return;
  if (h.client_len == 0) {
    // Once per connection: after a PROXY header the gate has recorded the real client by now.
    std::string text = client_address(c).to_string();
    h.client_len = static_cast<uint8_t>(std::min(text.size(), sizeof h.client));
    memcpy(h.client, text.data(), h.client_len);
  }
  AccessRecord r;
  r.client = std::string_view(h.client, h.client_len);
  r.request = h.log_request;
  r.status = status;
  r.bytes = bytes;
  r.duration_us = duration_us;
  access_log_->append(r);
  h.log_request.clear();
}

void HttpHandler::send_simple(Connection& c, HttpConn& h, uint16_t status,
                              std::string_view content_type, std::string_view body, bool head_only,
                              std::string_view extra_headers) {
  bool close = !h.keep_alive || h.close_after;
  // One contiguous response for the common small case: a single copy into the write queue.
  char buf[512];
  bool small = body.size() + extra_headers.size() + content_type.size() < 256;
  char* p = buf;
  size_t sent = 0;
  if (small) {
    p = put_status_and_common(p, status, close, h.version_10);
  } else {
    sent = write_status_and_common(c, status, close, h.version_10);
  }
  p = put(p, extra_headers);
  p = put(p, "Content-Type: ");
  p = put(p, content_type);
  p = put(p, "\r\nContent-Length: ");
  p = put_uint(p, body.size());
  p = put(p, "\r\n\r\n");
  if (small && !head_only) p = put(p, body);
  c.send(buf, static_cast<size_t>(p - buf));
  sent += static_cast<size_t>(p - buf);
  if (!small && !head_only) {
    c.send(body);
    sent += body.size();
  }
  responded(c, h, status, sent);
}

void HttpHandler::send_error(Connection& c, HttpConn& h, uint16_t status, bool close) {
  if (close) h.close_after = true;
  std::string_view reason = http::reason_phrase(status);
  char body[64];
  char* e = put(body, reason);
  *e++ = '\n';
  bool saved = h.keep_alive;
  if (close) h.keep_alive = false;
  send_simple(c, h, status, "text/plain", std::string_view(body, static_cast<size_t>(e - body)),
              false);
  h.keep_alive = saved && !close;
  if (close) {
    h.state = HttpConn::State::kHead;
    c.close();
  }
}

Protocol http_protocol() {
  return tcp_protocol(
      "http", "127.0.0.1:8080", [](reactor::EventLoop& loop, const ProtocolContext& ctx) {
        const Options& o = ctx.options;
        HttpConfig cfg;
        cfg.max_header_bytes = static_cast<size_t>(o.max_header_bytes);
        cfg.max_body = o.max_body;
        cfg.header_timeout_ms = static_cast<uint64_t>(o.header_timeout_s * 1000 + 0.5);
        return std::make_unique<HttpHandler>(loop, ctx.http, cfg);
      });
}

}  // namespace reactord
