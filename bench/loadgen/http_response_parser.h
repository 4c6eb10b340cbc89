// Incremental HTTP/1.x response parser: framing only (status, Content-Length, chunked, close).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace reactord::bench {

// Feeds on whatever the socket delivered, split anywhere. It frames responses (status line,
// headers, then a body delimited by Content-Length, chunked transfer coding or the connection
// close) and keeps only what a load generator needs: the status code and whether the server
// keeps the connection. Bodies are skipped, never copied; a line is copied only when it
// straddles two reads, into a buffer reused for the whole connection.
class HttpResponseParser {
 public:
  static constexpr size_t kMaxLine = 64 * 1024;

  HttpResponseParser() { line_.reserve(256); }

  // Consumes bytes of [p, p+n) up to the end of the current response and returns how many.
  // Afterwards exactly one holds: done() (a response is complete; call next() before feeding
  // the rest), failed(), or the whole input was consumed and more is needed.
  size_t feed(const char* p, size_t n);
  // The peer closed the connection. Completes a body delimited by close (returns true);
  // a response cut short makes failed() true.
  bool on_eof();
  // Ready for the next response on the same connection.
  void next();
  // Fresh connection: forget everything, including an error.
  void reset();

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  const char* error() const { return error_; }
  // Any byte of a response seen and the response not finished.
  bool in_progress() const { return state_ != State::kStatusLine || !line_.empty(); }
  int status() const { return status_; }
  // False once the server said Connection: close (or HTTP/1.0 without keep-alive, or a body
  // delimited by close): no further responses will come on this connection.
  bool keep_alive() const { return keep_alive_; }
  int64_t content_length() const { return content_length_; }
  bool chunked() const { return chunked_; }

 private:
  enum class State : uint8_t {
    kStatusLine,
    kHeaders,
    kBody,        // Content-Length bytes left in remaining_
    kChunkSize,   // expecting a chunk-size line
    kChunkData,   // remaining_ bytes of chunk data
    kChunkEnd,    // the CRLF after chunk data
    kTrailers,    // trailer fields after the last chunk, up to an empty line
    kUntilClose,  // body ends when the connection does
    kDone,
    kError,
  };

  bool on_line(std::string_view line);
  bool on_status_line(std::string_view line);
  bool on_header(std::string_view line);
  bool on_headers_end();
  bool on_chunk_size(std::string_view line);
  bool fail(const char* why) {
    error_ = why;
    state_ = State::kError;
    return false;
  }

  State state_ = State::kStatusLine;
  int status_ = 0;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool has_te_ = false;
  int64_t content_length_ = -1;
  uint64_t remaining_ = 0;
  const char* error_ = "";
  std::string line_;  // a line split across reads
};

}  // namespace reactord::bench
