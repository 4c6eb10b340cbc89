// HTTP/1.1 test client for reactord's http service: request builders, a strict response parser,
// a connection that reads responses / EOF with bounded waits, and /metrics scraping.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reactor/backend_kind.h"
#include "reactor/socket_address.h"
#include "tests/support/backends.h"
#include "tests/support/net.h"
#include "tests/support/process.h"

namespace ht {

// ---------------------------------------------------------------- requests

// "GET /path HTTP/1.1\r\nHost: test\r\n<extra>\r\n"; `extra` is whole header lines.
std::string request(std::string_view method, std::string_view path, std::string_view extra = {},
                    std::string_view version = "HTTP/1.1");
inline std::string get(std::string_view path, std::string_view extra = {}) {
  return request("GET", path, extra);
}
inline std::string head(std::string_view path, std::string_view extra = {}) {
  return request("HEAD", path, extra);
}
// POST with a Content-Length body.
std::string post(std::string_view path, std::string_view body, std::string_view extra = {});
// POST with a chunked body cut into chunks of the given sizes (cycled; the rest in one chunk
// when `sizes` is empty), then the last chunk and an empty trailer section.
std::string post_chunked(std::string_view path, std::string_view body,
                         const std::vector<size_t>& sizes = {}, std::string_view extra = {});

// ---------------------------------------------------------------- responses

struct Response {
  std::string status_line;  // without CRLF
  int code = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, in order
  std::string body;                                          // decoded (chunked: de-chunked)
  std::string raw;                                           // every byte of the response
  size_t head_size = 0;                                      // bytes of the head in `raw`
  bool chunked = false;
  bool close_delimited = false;  // no Content-Length / Transfer-Encoding: body ends at EOF

  // First header named `name` (ASCII case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
  size_t header_count(std::string_view name) const;
  bool says_close() const;  // "Connection: close"
  // The head with the Date value replaced by "*", and the body: what two responses to the
  // same request must share byte for byte.
  std::string normalized() const;
  // Just the head part of normalized().
  std::string normalized_head() const;
};

enum class Parse { kOk, kIncomplete, kError };
// Parses one response at the start of `buf`. `head_request`: the response to HEAD has no body.
// `eof`: no more bytes will come (completes a close-delimited body). On kOk *consumed is the
// response's length.
Parse parse_response(std::string_view buf, bool head_request, bool eof, Response* out,
                     size_t* consumed, std::string* error);

// Is `s` an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") whose weekday matches its date?
// On success *epoch holds the time it names.
bool is_imf_fixdate(std::string_view s, int64_t* epoch = nullptr);

// ---------------------------------------------------------------- a client connection

struct ReadResult {
  bool ok = false;
  Response response;
  std::string error;
};

struct EofResult {
  bool eof = false;    // orderly EOF (recv returned 0)
  bool reset = false;  // ECONNRESET instead
  std::string extra;   // bytes that came before the end
  std::string error;   // timeout / other error
};

class Client {
 public:
  Client() = default;
  // Connects (bounded); on failure ok() is false and error() says why.
  explicit Client(const reactor::SocketAddress& addr, int timeout_ms = 10000);
  bool ok() const { return static_cast<bool>(fd_); }
  const std::string& error() const { return error_; }
  int fd() const { return fd_.get(); }
  void set_nodelay();

  bool send(std::string_view data, int timeout_ms = 10000);
  // One response (an interim 1xx is returned like any other). Reads as needed, bounded.
  ReadResult read_response(bool head_request = false, int timeout_ms = 10000);
  // `n` responses in order; `head_flags[i]` (if given) marks responses to HEAD.
  bool read_responses(size_t n, std::vector<Response>* out, std::string* error,
                      const std::vector<bool>& head_flags = {}, int timeout_ms = 20000);
  // Waits for the peer to end the connection; bytes arriving first go to `extra`.
  EofResult read_eof(int timeout_ms = 10000);
  // Sends the request and reads its response (reading while sending, so large bodies
  // cannot deadlock on full socket buffers).
  ReadResult roundtrip(std::string_view req, bool head_request = false, int timeout_ms = 10000);
  // Sends `data` while reading until `n` responses have arrived. A failing send (the server
  // answered and closed) stops the sending, not the reading.
  bool transact(std::string_view data, size_t n, const std::vector<bool>& head_flags,
                std::vector<Response>* out, std::string* error, int timeout_ms = 30000);
  // Bytes received but not yet parsed.
  const std::string& pending() const { return in_; }
  // Reads whatever arrives within wait_ms into pending(); false on EOF/error.
  bool poll_in(int wait_ms, bool* eof);

 private:
  rt::Fd fd_;
  std::string error_;
  std::string in_;
  bool eof_ = false;
};

// ---------------------------------------------------------------- /metrics

// "name{labels}" (or "name") -> value, from the Prometheus text format; comments skipped.
using Metrics = std::map<std::string, double>;
Metrics parse_metrics(std::string_view text);
// The request scrape() sends (GET /metrics with Connection: close).
std::string scrape_request();
// GET /metrics on a fresh connection; fails the calling test (ADD_FAILURE) on trouble and
// returns an empty map.
Metrics scrape(const reactor::SocketAddress& addr);
// Value of `key`, or 0 when absent (Prometheus counters that never moved may be left out).
double value(const Metrics& m, const std::string& key);
std::string responses_key(int code);                // reactord_http_responses_total{code="N"}
std::string rejected_key(std::string_view reason);  // ..._rejected_requests_total{reason=".."}
// Sum over loops of a per-loop family ("reactord_received_bytes_total").
double sum_family(const Metrics& m, const std::string& family);
// Polls /metrics until the server has read `bytes` more from clients than it had at `before`
// (a scrape taken with scrape(); every scrape's own request is accounted for). Bounded.
bool wait_server_read(const reactor::SocketAddress& addr, const Metrics& before, size_t bytes,
                      int timeout_ms = 10000);
// Every rejected_requests_total reason reactord reports.
inline const char* const kRejectReasons[] = {"header_timeout", "header_too_large", "body_too_large",
                                             "bad_request", "not_implemented"};

// ---------------------------------------------------------------- the server

// Base fixture: reactord with an http listener, once per backend.
class HttpServerTest : public testing::TestWithParam<reactor::BackendKind> {
 protected:
  // Starts reactord --threads 2 --listen http=127.0.0.1:0 <extra>; returns false (after a
  // fatal failure or skip) when it did not start: callers `if (!start()) return;`.
  bool start(const std::vector<std::string>& extra = {});
  reactor::SocketAddress addr() const { return server_.address("http"); }
  rt::Reactord server_;
};

// A printable excerpt of binary data for failure messages.
std::string printable(std::string_view s, size_t max = 400);

// `r` is a complete "HTTP/1.1 200 OK" response (with exactly `body`, when given). For
// ASSERT_TRUE / EXPECT_TRUE: a failure says what differed.
testing::AssertionResult is_200(const ReadResult& r);
testing::AssertionResult is_200(const ReadResult& r, std::string_view body);

}  // namespace ht
