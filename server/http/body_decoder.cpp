// State machine behind BodyDecoder. The chunked grammar (RFC 9112 §7.1):
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// Extensions and trailers are ignored but still validated (no CTLs, no bare CR or LF), so a
// malformed body is rejected the same way whichever hop looks at it.
#include "http/body_decoder.h"

#include <algorithm>

#include "http/char_tables.h"

namespace reactord::http {
namespace {

// Chunk sizes above this are malformed (400) rather than merely too large, matching the
// Content-Length cap and keeping all sums far from overflow.
constexpr uint64_t kMaxChunkSize = kMaxContentLength;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_ext_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

}  // namespace

BodyDecoder::BodyDecoder(BodyFraming framing, uint64_t content_length, const BodyConfig& config)
    : max_body_(config.max_body), max_trailer_bytes_(config.max_trailer_bytes) {
  switch (framing) {
    case BodyFraming::kNone:
      state_ = State::kDone;
      break;
    case BodyFraming::kContentLength:
      if (content_length > max_body_) {
        fail(kStatusContentTooLarge);
      } else {
        remaining_ = content_length;
        state_ = content_length == 0 ? State::kDone : State::kLengthData;
      }
      break;
    case BodyFraming::kChunked:
      state_ = State::kSizeStart;
      break;
  }
}

BodyResult BodyDecoder::result(size_t consumed) const {
  switch (state_) {
    case State::kDone:
      return {BodyStatus::kDone, consumed, 0, false};
    case State::kError:
      return {BodyStatus::kError, consumed, error_status_, true};
    default:
      return {BodyStatus::kNeedMore, consumed, 0, false};
  }
}

BodyDecoder::Step BodyDecoder::step(const char* data, size_t len) {
  size_t i = 0;
  // Hands out up to `remaining_` bytes starting at i.
  auto take_body = [&](State next_when_finished) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, len - i));
    remaining_ -= n;
    body_bytes_ += n;
    if (remaining_ == 0) state_ = next_when_finished;
    return Step{i + n, {data + i, n}};
  };
  // Ends the chunk-size (size and BWS/extensions follow): refuse it if the body grows too large.
  auto size_known = [&]() {
    if (chunk_size_ > max_body_ - declared_) {
      fail(kStatusContentTooLarge);
      return false;
    }
    return true;
  };

  while (i < len) {
    const char c = data[i];
    const auto uc = static_cast<unsigned char>(c);
    switch (state_) {
      case State::kDone:
      case State::kError:
        return {i, {}};

      case State::kLengthData:
        return take_body(State::kDone);

      case State::kChunkData:
        return take_body(State::kDataCr);

      case State::kSizeStart:
      case State::kSize: {
        const int digit = hex_value(c);
        if (digit >= 0) {
          if (state_ == State::kSizeStart) {
            chunk_size_ = 0;
            line_bytes_ = 0;
            state_ = State::kSize;
          }
          if (chunk_size_ > (kMaxChunkSize - static_cast<uint64_t>(digit)) / 16) {
            fail(kStatusBadRequest);  // chunk-size overflow
            return {i, {}};
          }
          chunk_size_ = chunk_size_ * 16 + static_cast<uint64_t>(digit);
        } else if (state_ == State::kSizeStart) {
          fail(kStatusBadRequest);  // empty or non-hex chunk-size
          return {i, {}};
        } else if (c == ';' || c == ' ' || c == '\t' || c == '\r') {
          if (!size_known()) return {i, {}};
          state_ = c == ';' ? State::kExt : c == '\r' ? State::kSizeLf : State::kSizeWs;
        } else {
          fail(kStatusBadRequest);
          return {i, {}};
        }
        break;
      }

      case State::kSizeWs:
        if (c == ';') {
          state_ = State::kExt;
        } else if (c != ' ' && c != '\t') {
          fail(kStatusBadRequest);  // whitespace is only allowed before an extension
          return {i, {}};
        }
        break;

      case State::kExt: {
        // Tight loop: extensions are skipped, only checked for CTLs.
        size_t j = i;
        while (j < len && is_ext_char(static_cast<unsigned char>(data[j]))) ++j;
        line_bytes_ += j - i;
        if (line_bytes_ > kMaxChunkLineBytes) {
          fail(kStatusBadRequest);
          return {j, {}};
        }
        if (j == len) return {len, {}};
        if (data[j] != '\r') {
          fail(kStatusBadRequest);  // CTL (including a bare LF) in an extension
          return {j, {}};
        }
        state_ = State::kSizeLf;
        i = j;
        break;
      }

      case State::kSizeLf:
        if (c != '\n') {
          fail(kStatusBadRequest);  // bare CR
          return {i, {}};
        }
        if (chunk_size_ == 0) {
          line_bytes_ = 0;  // now counts the trailer section
          state_ = State::kTrailerStart;
        } else {
          declared_ += chunk_size_;
          remaining_ = chunk_size_;
          state_ = State::kChunkData;
        }
        break;

      case State::kDataCr:
        if (c != '\r') {
          fail(kStatusBadRequest);  // chunk-data longer than its chunk-size
          return {i, {}};
        }
        state_ = State::kDataLf;
        break;

      case State::kDataLf:
        if (c != '\n') {
          fail(kStatusBadRequest);
          return {i, {}};
        }
        state_ = State::kSizeStart;
        break;

      case State::kTrailerStart:
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (detail::kTokenChar[uc]) {
          state_ = State::kTrailerName;
        } else {
          fail(kStatusBadRequest);  // obs-fold, empty field name or junk
          return {i, {}};
        }
        break;

      case State::kTrailerName:
        if (c == ':') {
          state_ = State::kTrailerValue;
        } else if (!detail::kTokenChar[uc]) {
          fail(kStatusBadRequest);  // includes whitespace before the colon
          return {i, {}};
        }
        break;

      case State::kTrailerValue: {
        size_t j = i;
        while (j < len && detail::kFieldValueChar[static_cast<unsigned char>(data[j])]) ++j;
        line_bytes_ += j - i;
        if (line_bytes_ > max_trailer_bytes_) {
          fail(kStatusRequestHeaderFieldsTooLarge);
          return {j, {}};
        }
        if (j == len) return {len, {}};
        if (data[j] != '\r') {
          fail(kStatusBadRequest);  // NUL, bare LF or another CTL in a trailer value
          return {j, {}};
        }
        state_ = State::kTrailerLf;
        i = j;
        break;
      }

      case State::kTrailerLf:
        if (c != '\n') {
          fail(kStatusBadRequest);  // bare CR
          return {i, {}};
        }
        state_ = State::kTrailerStart;
        break;

      case State::kFinalLf:
        if (c != '\n') {
          fail(kStatusBadRequest);
          return {i, {}};
        }
        state_ = State::kDone;
        return {i + 1, {}};
    }
    // Every byte outside the data and the bulk loops above lands here: bound the line lengths.
    ++i;
    if (state_ >= State::kTrailerStart) {
      if (++line_bytes_ > max_trailer_bytes_) {
        fail(kStatusRequestHeaderFieldsTooLarge);
        return {i, {}};
      }
    } else if (++line_bytes_ > kMaxChunkLineBytes) {
      fail(kStatusBadRequest);
      return {i, {}};
    }
  }
  return {len, {}};
}

}  // namespace reactord::http
