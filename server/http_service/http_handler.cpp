// HttpHandler: request state machine over pool buffers, canned responses, endpoint routing.
#include "server/http_service/http_handler.h"

#include <cstring>
#include <ctime>

#include "http/http_date.h"
#include "http/status.h"
#include "server/http_service/metrics.h"
#include "server/server.h"

namespace reactord {

using reactor::Buffer;
using reactor::Connection;

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
  bool collect = false;
  std::string collected;
  bool close_after = false;  // answer, then close (drain, Connection: close, errors)
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

HttpHandler::HttpHandler(reactor::EventLoop& loop, ServerState& state, const HttpConfig& config)
    : loop_(loop), state_(state), config_(config), stats_(state.http_stats.add()) {}

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
  c.set_user(h.release());
}

void HttpHandler::on_close(Connection& c) {
  auto* h = static_cast<HttpConn*>(c.user());
  if (!h) return;
  c.set_user(nullptr);
  h->cancel();
  h->pending.reset();
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
        if (r.close) {
          send_error(c, h, r.http_status, true);
          return n;
        }
        // The head was whole and its framing sound: answer, skip its body, go on - unless
        // the body is too large to be worth skipping, in which case the answer ends it.
        h.body = http::BodyDecoder(request_, http::BodyConfig{config_.max_body});
        send_error(c, h, r.http_status, !request_.keep_alive || h.body.failed());
        if (!c.is_open()) return n;
        off += r.consumed;
        h.route = Route::kDiscard;
        h.state = HttpConn::State::kBody;
        continue;
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
        hp->collected.append(piece);
      } else {
        c.send(piece);  // Content-Length body: its reply header is out, stream it through
      }
    });
    off += br.consumed;
    if (br.status == http::BodyStatus::kNeedMore) continue;
    if (br.status == http::BodyStatus::kError) {
      if (br.http_status == http::kStatusContentTooLarge)
        stats_->too_large_bodies.add();
      else
        stats_->bad_requests.add();
      if (h.route == Route::kEcho && h.collect) {
        // Nothing of this request's reply has gone out yet: answer the error itself.
        h.collected.clear();
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
  h.keep_alive =
      rq.keep_alive && !h.close_after && !state_.draining.load(std::memory_order_relaxed);
  h.version_10 = rq.version_minor == 0;
  h.collect = false;
  const bool is_get = rq.method == http::Method::kGet;
  const bool is_head = rq.method == http::Method::kHead;
  std::string_view t = rq.target;
  h.route = Route::kDiscard;
  h.body = http::BodyDecoder(rq, http::BodyConfig{config_.max_body});
  h.state = HttpConn::State::kBody;
  if (h.body.failed()) {  // Content-Length above --max-body: refuse before reading it
    stats_->too_large_bodies.add();
    send_error(c, h, http::kStatusContentTooLarge, true);
    return false;
  }
  const bool close = !h.keep_alive;
  auto not_allowed = [&](std::string_view allow) {
    char extra[64];
    char* e = put(put(put(extra, "Allow: "), allow), "\r\n");
    send_simple(c, h, http::kStatusMethodNotAllowed, "text/plain", "method not allowed\n", is_head,
                std::string_view(extra, static_cast<size_t>(e - extra)));
  };
  auto get_only = [&](std::string_view type, std::string_view body) {
    if (is_get || is_head)
      send_simple(c, h, http::kStatusOk, type, body, is_head);
    else
      not_allowed("GET, HEAD");
  };
  if (path_is(t, "/plaintext")) {
    get_only("text/plain", kPlainBody);
  } else if (path_is(t, "/json")) {
    get_only("application/json", kJsonBody);
  } else if (path_is(t, "/health")) {
    bool draining = state_.draining.load(std::memory_order_relaxed);
    if (draining && (is_get || is_head)) {
      send_simple(c, h, http::kStatusServiceUnavailable, "text/plain", "draining\n", is_head);
    } else {
      get_only("text/plain", "ok\n");
    }
  } else if (path_is(t, "/metrics")) {
    if (is_get || is_head) {
      render_metrics(state_, metrics_scratch_);
      send_simple(c, h, http::kStatusOk, "text/plain; version=0.0.4; charset=utf-8",
                  metrics_scratch_, is_head);
    } else {
      not_allowed("GET, HEAD");
    }
  } else if (path_is(t, "/echo")) {
    if (rq.method == http::Method::kPost) {
      h.route = Route::kEcho;
      if (rq.expect_continue && rq.framing != http::BodyFraming::kNone)
        c.send("HTTP/1.1 100 Continue\r\n\r\n");
      if (rq.framing == http::BodyFraming::kChunked) {
        h.collect = true;  // answered in finish_request, once the length is known
        h.collected.clear();
      } else {
        write_status_and_common(c, http::kStatusOk, close, h.version_10 && h.keep_alive);
        char hdr[96];
        char* e = put(hdr, "Content-Type: application/octet-stream\r\nContent-Length: ");
        e = put_uint(e, rq.framing == http::BodyFraming::kContentLength ? rq.content_length : 0);
        e = put(e, "\r\n\r\n");
        c.send(hdr, static_cast<size_t>(e - hdr));
        stats_->count(http::kStatusOk);
      }
    } else {
      not_allowed("POST");
    }
  } else {
    send_simple(c, h, http::kStatusNotFound, "text/plain", "not found\n", is_head);
  }
  if (h.body.done()) finish_request(c, h);
  return c.is_open();
}

void HttpHandler::finish_request(Connection& c, HttpConn& h) {
  if (h.route == Route::kEcho && h.collect) {
    send_simple(c, h, http::kStatusOk, "application/octet-stream", h.collected, false);
    h.collected.clear();
    h.collected.shrink_to_fit();  // a big body's memory goes back now, not at the next one
    h.collect = false;
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

void HttpHandler::write_status_and_common(Connection& c, uint16_t status, bool close,
                                          bool keep_alive_header) {
  char buf[256];
  char* p = put_status_and_common(buf, status, close, keep_alive_header);
  c.send(buf, static_cast<size_t>(p - buf));
}

void HttpHandler::send_simple(Connection& c, HttpConn& h, uint16_t status,
                              std::string_view content_type, std::string_view body, bool head_only,
                              std::string_view extra_headers) {
  bool close = !h.keep_alive || h.close_after;
  // One contiguous response for the common small case: a single copy into the write queue.
  char buf[512];
  bool small = body.size() + extra_headers.size() + content_type.size() < 256;
  char* p = buf;
  if (small) {
    p = put_status_and_common(p, status, close, h.version_10);
  } else {
    write_status_and_common(c, status, close, h.version_10);
  }
  p = put(p, extra_headers);
  p = put(p, "Content-Type: ");
  p = put(p, content_type);
  p = put(p, "\r\nContent-Length: ");
  p = put_uint(p, body.size());
  p = put(p, "\r\n\r\n");
  if (small && !head_only) p = put(p, body);
  c.send(buf, static_cast<size_t>(p - buf));
  if (!small && !head_only) c.send(body);
  stats_->count(status);
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

}  // namespace reactord
