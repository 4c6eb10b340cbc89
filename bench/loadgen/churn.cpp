// Churn: each connection does connect, one request, verify, close (client first), and again.
#include "bench/loadgen/client_conn.h"
#include "bench/loadgen/driver.h"
#include "bench/loadgen/worker.h"

#include <vector>

namespace reactord::bench {
namespace {

// With --requests, a cycle is only started when the budget still has room for its request,
// counting cycles already connecting: the server then sees as many connections as requests.
class ChurnDriver final : public Driver {
 public:
  void start(Worker& w) override {
    used_.assign(static_cast<size_t>(w.conn_count()), false);
    for (int i = 0; i < w.conn_count(); ++i) begin_cycle(w, w.conns()[i]);
  }
  void on_open(Worker& w, ClientConn& cc) override {
    if (w.enqueue(cc, w.now_ns())) {
      used_[cc.index] = true;
      w.flush(cc);
    } else {
      w.close(cc);  // cannot happen while cycles are reserved; harmless if it does
    }
  }
  // The client closes first, so TIME_WAIT lands on the client, as it would in production
  // for short-lived HTTP/1.0-style clients; the reactor waits for the server's FIN.
  bool on_response(Worker& w, ClientConn& cc) override {
    w.close(cc);
    return false;
  }
  void on_batch_end(Worker&, ClientConn&) override {}
  void on_lost(Worker& w, ClientConn& cc) override {
    // A cycle that failed before sending its request gives its reservation back.
    if (!used_[cc.index]) --started_;
    begin_cycle(w, cc);  // --connect-rate paces the next cycle
  }

 private:
  void begin_cycle(Worker& w, ClientConn& cc) {
    if (w.budget() != 0 && started_ >= w.budget()) return;
    ++started_;
    used_[cc.index] = false;
    w.request_connect(cc);
  }

  std::vector<bool> used_;  // per slot: the current cycle has sent its request
  uint64_t started_ = 0;    // cycles begun and not given back
};

}  // namespace

std::unique_ptr<Driver> make_churn_driver() {
  return std::make_unique<ChurnDriver>();
}

}  // namespace reactord::bench
