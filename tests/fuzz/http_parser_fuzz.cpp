// libFuzzer target for the HTTP request parser and body decoder. The input is treated as a
// connection's byte stream of pipelined requests (head -> body -> next head), the way the server
// consumes it. Besides crashes and sanitizer reports it checks invariants: nothing is consumed
// past the input, every view lies inside the consumed head, and the results do not depend on how
// the bytes are split (whole vs. two pieces vs. byte by byte).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "http/body_decoder.h"
#include "http/request_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace reactord::http;

bool same(const ParseResult& a, const ParseResult& b) {
  return a.status == b.status && a.consumed == b.consumed && a.http_status == b.http_status &&
         a.close == b.close;
}

bool within(std::string_view v, const char* begin, const char* end) {
  return v.empty() || (v.data() >= begin && v.data() + v.size() <= end);
}

// Feeds [p, p + n) to a fresh parser as growing prefixes: first `split` bytes, then all of it.
ParseResult parse_in_two(const ParserConfig& config, const char* p, size_t n, size_t split) {
  RequestParser parser(config);
  Request req;
  ParseResult r = parser.parse(p, split, req);
  if (r.status == ParseStatus::kIncomplete) r = parser.parse(p, n, req);
  return r;
}

ParseResult parse_bytewise(const ParserConfig& config, const char* p, size_t n) {
  RequestParser parser(config);
  Request req;
  ParseResult r;
  for (size_t k = 0; k <= n; ++k) {
    r = parser.parse(p, k, req);
    if (r.status != ParseStatus::kIncomplete) break;
  }
  return r;
}

void check_request(const Request& req, const char* begin, const char* end) {
  FUZZ_CHECK(req.header_count <= kMaxHeaders);
  FUZZ_CHECK(!req.method_text.empty() && within(req.method_text, begin, end));
  FUZZ_CHECK(!req.target.empty() && within(req.target, begin, end));
  FUZZ_CHECK(within(req.host, begin, end));
  FUZZ_CHECK(req.version_minor <= 1);
  for (const Header& h : req.headers()) {
    FUZZ_CHECK(!h.name.empty() && within(h.name, begin, end));
    FUZZ_CHECK(within(h.value, begin, end));
  }
  if (req.framing == BodyFraming::kContentLength) {
    FUZZ_CHECK(req.content_length <= kMaxContentLength);
  }
}

struct BodyOutcome {
  BodyResult result;
  uint64_t bytes = 0;
  uint64_t hash = 1469598103934665603ull;  // FNV-1a over the body bytes
};

template <typename Feed>
BodyOutcome decode(const Request& req, const BodyConfig& config, const char* p, size_t n,
                   Feed&& feed) {
  BodyDecoder decoder(req, config);
  BodyOutcome out;
  auto sink = [&](std::string_view body) {
    FUZZ_CHECK(!body.empty() && within(body, p, p + n));
    out.bytes += body.size();
    for (char c : body) out.hash = (out.hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  };
  out.result = feed(decoder, sink);
  FUZZ_CHECK(out.result.consumed <= n);
  FUZZ_CHECK(out.bytes == decoder.body_bytes());
  FUZZ_CHECK(out.bytes <= config.max_body);
  if (req.framing == BodyFraming::kContentLength && out.result.status == BodyStatus::kDone) {
    FUZZ_CHECK(out.bytes == req.content_length && out.result.consumed == req.content_length);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* const input = reinterpret_cast<const char*>(data);
  // A small head limit too, so the 431 paths are reached with short inputs.
  const ParserConfig configs[] = {ParserConfig{}, ParserConfig{64}};
  BodyConfig body_config;
  body_config.max_body = 4096;
  body_config.max_trailer_bytes = 256;

  RequestParser parser;
  Request req;
  size_t offset = 0;
  for (int requests = 0; offset < size && requests < 64; ++requests) {
    const char* const p = input + offset;
    const size_t n = size - offset;

    for (const ParserConfig& config : configs) {
      RequestParser whole_parser(config);
      Request scratch;
      const ParseResult whole = whole_parser.parse(p, n, scratch);
      FUZZ_CHECK(whole.consumed <= n);
      FUZZ_CHECK(same(whole, parse_in_two(config, p, n, n / 2)));
      FUZZ_CHECK(same(whole, parse_in_two(config, p, n, (n * 7 + 3) % (n + 1))));
      FUZZ_CHECK(same(whole, parse_bytewise(config, p, n)));
    }

    const ParseResult head = parser.parse(p, n, req);
    FUZZ_CHECK(head.consumed <= n);
    if (head.status == ParseStatus::kIncomplete) break;
    if (head.status == ParseStatus::kError) {
      const uint16_t s = head.http_status;
      FUZZ_CHECK(s == 400 || s == 431 || s == 501 || s == 505);
      if (head.close) break;
      FUZZ_CHECK(s == 400 && head.consumed > 0);
    } else {
      FUZZ_CHECK(head.consumed > 0);
    }
    check_request(req, p, p + head.consumed);

    const char* const body = p + head.consumed;
    const size_t body_len = n - head.consumed;
    const BodyOutcome whole =
        decode(req, body_config, body, body_len,
               [&](BodyDecoder& d, auto& sink) { return d.feed(body, body_len, sink); });
    const BodyOutcome bytewise =
        decode(req, body_config, body, body_len, [&](BodyDecoder& d, auto& sink) {
          BodyResult r;
          size_t used = 0;
          for (size_t i = 0; i < body_len; ++i) {
            r = d.feed(body + i, 1, sink);
            used += r.consumed;
            if (r.status != BodyStatus::kNeedMore) break;
          }
          if (body_len == 0) r = d.feed(body, 0, sink);
          r.consumed = used;
          return r;
        });
    FUZZ_CHECK(whole.result.status == bytewise.result.status);
    FUZZ_CHECK(whole.result.http_status == bytewise.result.http_status);
    FUZZ_CHECK(whole.bytes == bytewise.bytes && whole.hash == bytewise.hash);
    if (whole.result.status == BodyStatus::kDone) {
      FUZZ_CHECK(whole.result.consumed == bytewise.result.consumed);
    }
    if (whole.result.status != BodyStatus::kDone) break;
    offset += head.consumed + whole.result.consumed;
  }
  return 0;
}
