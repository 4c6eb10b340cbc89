// HTTP/1.1 client: one request sent again and again with keep-alive, responses framed
// incrementally, statuses counted.
#include "bench/loadgen/client_conn.h"
#include "bench/loadgen/http_response_parser.h"
#include "bench/loadgen/protocol.h"
#include "bench/loadgen/worker.h"

namespace reactord::bench {
namespace {

class HttpProtocol final : public Protocol {
 public:
  explicit HttpProtocol(const std::string& request) : request_(request) {}

  size_t request_size() const override { return request_.size(); }
  const char* request(uint64_t) const override { return request_.data(); }
  void on_connection_start(ClientConn& cc) const override { cc.http.reset(); }

  bool consume(ClientConn& cc, const char* p, size_t n, Worker& w) const override {
    while (n > 0) {
      size_t used = cc.http.feed(p, n);
      p += used;
      n -= used;
      if (cc.http.failed()) {
        w.on_protocol_error(cc, cc.http.error());
        return false;
      }
      if (!cc.http.done()) continue;  // everything was consumed; the rest comes later
      int status = cc.http.status();
      bool keep_alive = cc.http.keep_alive();
      cc.http.next();
      if (!w.on_response(cc, true, status, keep_alive)) return false;
    }
    return true;
  }

  void on_eof(ClientConn& cc, Worker& w) const override {
    if (cc.http.on_eof()) {
      int status = cc.http.status();
      cc.http.next();
      w.on_response(cc, true, status, false);
    }
  }

  bool reply_in_progress(const ClientConn& cc) const override { return cc.http.in_progress(); }

 private:
  std::string request_;
};

}  // namespace

std::unique_ptr<Protocol> make_http_protocol(const std::string& request) {
  return std::make_unique<HttpProtocol>(request);
}

}  // namespace reactord::bench
