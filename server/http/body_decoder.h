// Incremental request-body decoder for Content-Length and chunked framing (RFC 9112 §6, §7.1).
// Body bytes are handed out as views into the caller's input; the decoder keeps only a few
// counters between calls, so input may arrive in pieces of any size, down to one byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/request_parser.h"
#include "http/status.h"

namespace reactord::http {

inline constexpr uint64_t kDefaultMaxBody = uint64_t{1} << 20;
inline constexpr size_t kDefaultMaxTrailerBytes = 8192;
// Longest chunk-size line (size + extensions) we accept; extensions are ignored anyway.
inline constexpr size_t kMaxChunkLineBytes = 4096;

struct BodyConfig {
  uint64_t max_body = kDefaultMaxBody;                 // larger bodies are refused with 413
  size_t max_trailer_bytes = kDefaultMaxTrailerBytes;  // larger trailer sections get 431
};

enum class BodyStatus : uint8_t { kNeedMore, kDone, kError };

struct BodyResult {
  BodyStatus status = BodyStatus::kNeedMore;
  size_t consumed = 0;       // input bytes used (framing and body); on kDone the next request
                             // starts at data + consumed
  uint16_t http_status = 0;  // kError: 400, 413 or 431
  bool close = false;        // kError: always true, the framing is lost
};

class BodyDecoder {
 public:
  // A decoder for a request without body: done from the start.
  BodyDecoder() = default;
  BodyDecoder(BodyFraming framing, uint64_t content_length, const BodyConfig& config = {});
  explicit BodyDecoder(const Request& request, const BodyConfig& config = {})
      : BodyDecoder(request.framing, request.content_length, config) {}

  // Consumes bytes of [data, data + len) and calls sink(std::string_view) for each run of body
  // bytes (views into the input, in order, never empty). Stops at the end of the body, so bytes of
  // a pipelined next request are never consumed. Calling feed() after kDone returns kDone with
  // consumed == 0; after kError it repeats the error.
  template <typename Sink>
  BodyResult feed(const char* data, size_t len, Sink&& sink);

  bool done() const { return state_ == State::kDone; }
  // True when the body is already refused, e.g. Content-Length above max_body: answer 413
  // without reading (or asking for, via 100-continue) the body.
  bool failed() const { return state_ == State::kError; }
  uint16_t error_status() const { return error_status_; }
  // Body bytes handed to the sink so far.
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  // Order matters: the states from kTrailerStart on make up the trailer section, whose size is
  // limited separately from chunk-size lines.
  enum class State : uint8_t {
    kDone,
    kError,
    kLengthData,  // Content-Length body
    kSizeStart,   // first hex digit of a chunk-size
    kSize,        // more hex digits
    kSizeWs,      // BWS between chunk-size and ";"
    kExt,         // chunk extensions, validated only for CTLs
    kSizeLf,      // LF ending the chunk-size line
    kChunkData,   // chunk-data
    kDataCr,      // CRLF after chunk-data
    kDataLf,
    kTrailerStart,  // start of a trailer line, or the final CRLF
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kFinalLf,
  };

  struct Step {
    size_t consumed;        // input bytes used, including `body`
    std::string_view body;  // body bytes found (the tail of the consumed bytes), may be empty
  };

  // Advances over framing bytes until body bytes are available, the input is used up, or the
  // body ends or fails. Non-template so the state machine lives in the .cpp.
  Step step(const char* data, size_t len);
  void fail(uint16_t http_status) {
    state_ = State::kError;
    error_status_ = http_status;
  }
  BodyResult result(size_t consumed) const;

  State state_ = State::kDone;
  uint16_t error_status_ = 0;
  uint64_t remaining_ = 0;   // bytes left in the Content-Length body or the current chunk
  uint64_t chunk_size_ = 0;  // chunk-size being parsed
  uint64_t declared_ = 0;    // sum of chunk sizes so far
  uint64_t body_bytes_ = 0;
  size_t line_bytes_ = 0;  // bytes of the current chunk-size line, or of the trailer section
  uint64_t max_body_ = kDefaultMaxBody;
  size_t max_trailer_bytes_ = kDefaultMaxTrailerBytes;
};

template <typename Sink>
BodyResult BodyDecoder::feed(const char* data, size_t len, Sink&& sink) {
  size_t offset = 0;
  for (;;) {
    const Step s = step(data + offset, len - offset);
    offset += s.consumed;
    if (s.body.empty()) return result(offset);
    sink(s.body);
    if (offset == len) return result(offset);
  }
}

}  // namespace reactord::http
