// echo/upper client: fixed-size requests from the pattern, replies verified byte for byte.
#include "bench/loadgen/client_conn.h"
#include "bench/loadgen/pattern.h"
#include "bench/loadgen/protocol.h"
#include "bench/loadgen/worker.h"

namespace reactord::bench {
namespace {

class StreamProtocol final : public Protocol {
 public:
  explicit StreamProtocol(const PatternSet& patterns) : patterns_(patterns) {}

  size_t request_size() const override { return patterns_.size(); }
  const char* request(uint64_t seq) const override { return patterns_.request(seq); }
  void on_connection_start(ClientConn& cc) const override {
    cc.got = 0;
    cc.bad = false;
  }

  // The stream is FIFO, so the reply to the front request is simply the next size() bytes,
  // however the reads split them.
  bool consume(ClientConn& cc, const char* p, size_t n, Worker& w) const override {
    const size_t size = patterns_.size();
    while (n > 0) {
      if (cc.ring.in_flight() == 0) {
        w.on_protocol_error(cc, "bytes received with no request outstanding");
        return false;
      }
      size_t take = size - cc.got;
      if (take > n) take = n;
      if (!cc.bad && !patterns_.verify(cc.ring.front().seq, cc.got, p, take)) cc.bad = true;
      cc.got += take;
      p += take;
      n -= take;
      if (cc.got == size) {
        bool ok = !cc.bad;
        cc.got = 0;
        cc.bad = false;
        if (!w.on_response(cc, ok, 0, true)) return false;
      }
    }
    return true;
  }

  void on_eof(ClientConn&, Worker&) const override {}
  bool reply_in_progress(const ClientConn& cc) const override { return cc.got > 0; }

 private:
  const PatternSet& patterns_;
};

}  // namespace

std::unique_ptr<Protocol> make_stream_protocol(const PatternSet& patterns) {
  return std::make_unique<StreamProtocol>(patterns);
}

}  // namespace reactord::bench
