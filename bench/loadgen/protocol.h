// The protocol seam of the load generator: what a request looks like and how replies are framed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace reactord::bench {

class PatternSet;
class Worker;
struct ClientConn;

// Stateless and const: one instance is shared by every worker thread; per-connection parse
// state lives in ClientConn.
class Protocol {
 public:
  virtual ~Protocol() = default;
  // Every request of a run has the same length, so a batch is a plain concatenation.
  virtual size_t request_size() const = 0;
  // Contiguous bytes of request `seq` (request_size() of them), valid for the whole run.
  virtual const char* request(uint64_t seq) const = 0;
  // A new connection starts in this slot.
  virtual void on_connection_start(ClientConn& cc) const = 0;
  // Received bytes: frames and verifies replies, reporting each through
  // Worker::on_response(). Returns false after a protocol error (already reported), when the
  // connection must be dropped, or when the worker stopped taking replies on it.
  virtual bool consume(ClientConn& cc, const char* p, size_t n, Worker& w) const = 0;
  // The server closed its side: completes a close-delimited reply if the protocol has them.
  virtual void on_eof(ClientConn& cc, Worker& w) const = 0;
  // Bytes of a reply have been seen but the reply is not complete.
  virtual bool reply_in_progress(const ClientConn& cc) const = 0;
};

// echo (upper == false) and upper: fixed-size replies verified byte for byte.
std::unique_ptr<Protocol> make_stream_protocol(const PatternSet& patterns);
// Sends `request` (http_request_text) over keep-alive connections, again and again.
std::unique_ptr<Protocol> make_http_protocol(const std::string& request);

}  // namespace reactord::bench
