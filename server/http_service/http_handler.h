// The HTTP/1.1 protocol handler: keep-alive, pipelining with coalesced replies, strict limits,
// the built-in endpoints (/plaintext, /json, /health, /metrics, POST /echo).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/body_decoder.h"
#include "http/request_parser.h"
#include "reactor/connection.h"
#include "reactor/event_loop.h"
#include "reactor/handler.h"
#include "server/http_service/access_log.h"
#include "server/http_service/http_context.h"
#include "server/http_service/http_stats.h"
#include "server/protocols/protocol.h"

namespace reactord {

struct HttpConfig {
  size_t max_header_bytes = http::kDefaultMaxHeaderBytes;
  uint64_t max_body = http::kDefaultMaxBody;
  uint64_t header_timeout_ms = 10000;  // total deadline for one request head (slowloris)
};

class HttpConn;

// Thread affinity: one instance per loop, used only on that loop's thread. Per-connection
// state (HttpConn) comes from a per-loop free list: no allocation per request, and none per
// connection once the list is warm.
class HttpHandler final : public reactor::ConnectionHandler {
 public:
  HttpHandler(reactor::EventLoop& loop, const HttpContext& context, const HttpConfig& config);
  ~HttpHandler() override;

  void on_open(reactor::Connection& c) override;
  void on_data(reactor::Connection& c, reactor::Buffer&& data) override;
  void on_peer_closed(reactor::Connection& c) override;
  void on_drain(reactor::Connection& c) override;
  void on_close(reactor::Connection& c) override;

  HttpStats& stats() { return *stats_; }

 private:
  friend class HttpConn;
  // kEcho streams the request body back; every other request's body is skipped.
  enum class Route : uint8_t { kEcho, kDiscard };

  void consume(reactor::Connection& c, reactor::Buffer&& data);
  void keep_pending(reactor::Connection& c, HttpConn& h, reactor::Buffer&& rest);
  // Runs the request state machine over [p, p+n); returns bytes consumed. Stops early when
  // the connection is closing or the head is incomplete.
  size_t process(reactor::Connection& c, HttpConn& h, const char* p, size_t n);
  bool on_head(reactor::Connection& c, HttpConn& h);  // false: stop processing
  void finish_request(reactor::Connection& c, HttpConn& h);
  void send_error(reactor::Connection& c, HttpConn& h, uint16_t status, bool close);
  void send_simple(reactor::Connection& c, HttpConn& h, uint16_t status,
                   std::string_view content_type, std::string_view body, bool head_only,
                   std::string_view extra_headers = {});
  // "HTTP/1.1 <status>", Server, Date and the Connection header when one is due.
  char* put_status_and_common(char* p, uint16_t status, bool close, bool keep_alive_header) const;
  // Returns the bytes queued.
  size_t write_status_and_common(reactor::Connection& c, uint16_t status, bool close,
                                 bool keep_alive_header);
  // Counts the response and, with --access-log, writes its line.
  void responded(reactor::Connection& c, HttpConn& h, uint16_t status, uint64_t bytes);
  void refresh_date();
  static void on_header_timeout(reactor::TimerNode* node);

  reactor::EventLoop& loop_;
  const std::atomic<bool>* draining_;
  const std::atomic<bool>* stopping_;  // /ready: 503 from SIGTERM on (see HttpContext)
  MetricsSource* metrics_;
  HttpConfig config_;
  HttpStats* stats_;
  http::Request request_;  // scratch: one per loop, views into the receive buffer
  std::vector<std::unique_ptr<HttpConn>> free_;
  // "Date: <IMF-fixdate>\r\n", refreshed at most once per second (loop time).
  char date_line_[64];
  size_t date_len_ = 0;
  uint64_t date_sec_ = UINT64_MAX;
  std::string metrics_scratch_;
  std::unique_ptr<AccessLogWriter> access_log_;  // --access-log; null: off
};

// --listen http=ADDR: the limits come from --max-header-bytes, --max-body, --header-timeout.
Protocol http_protocol();

}  // namespace reactord
