// How load is offered: closed loop, open loop (paced), or connection churn.
#pragma once

#include <cstdint>
#include <memory>

namespace reactord::bench {

class Worker;
struct ClientConn;

// Runs on one worker's loop thread. The worker owns connections, accounting and the reactor
// plumbing; a driver decides only when requests are created and when connections come and go.
class Driver {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;
  virtual ~Driver() = default;
  // The loop is up: ask for the initial connections.
  virtual void start(Worker& w) = 0;
  // Every initial connection has either opened or failed once.
  virtual void on_ready(Worker&) {}
  virtual void on_open(Worker& w, ClientConn& cc) = 0;
  // One reply was accounted (and popped). False: stop reading replies on this connection.
  virtual bool on_response(Worker& w, ClientConn& cc) = 0;
  // All replies of one read were handled: the moment to write replacements in one send.
  virtual void on_batch_end(Worker& w, ClientConn& cc) = 0;
  // The connection (or the connect attempt) is gone; cc is idle again.
  virtual void on_lost(Worker& w, ClientConn& cc) = 0;
  // A pacer wake-up at now_ns: do what is due; return when to be woken next (kNever: no need).
  virtual uint64_t on_wake(Worker&, uint64_t /*now_ns*/) { return kNever; }
};

std::unique_ptr<Driver> make_closed_loop_driver();
// rate: requests/s for this worker; phase_ns offsets its schedule from the other workers'.
std::unique_ptr<Driver> make_open_loop_driver(double rate, uint64_t phase_ns);
std::unique_ptr<Driver> make_churn_driver();

}  // namespace reactord::bench
