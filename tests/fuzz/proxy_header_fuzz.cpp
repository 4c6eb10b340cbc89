// libFuzzer target for the PROXY protocol header parser. The input is a connection's first
// bytes from a trusted balancer. Besides crashes and sanitizer reports it checks that nothing
// is consumed past the input, a finished header is never longer than the protocol allows, and
// the outcome does not depend on how the bytes are split (whole vs. two pieces vs. bytewise).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/proxy/proxy_header.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using reactord::ProxyHeaderParser;

struct Outcome {
  ProxyHeaderParser::Status status;
  size_t consumed;
  std::string source;
};

// Feeds `in` in pieces of at most `piece` bytes (0 = whole).
Outcome feed(std::string_view in, size_t piece) {
  ProxyHeaderParser p;
  size_t consumed = 0;
  ProxyHeaderParser::Status status = ProxyHeaderParser::Status::kNeedMore;
  size_t at = 0;
  do {
    size_t n = piece == 0 ? in.size() : std::min(piece, in.size() - at);
    auto r = p.feed(in.substr(at, n));
    FUZZ_CHECK(r.consumed <= n);
    consumed += r.consumed;
    status = r.status;
    at += n;
  } while (status == ProxyHeaderParser::Status::kNeedMore && at < in.size());
  std::string source;
  if (status == ProxyHeaderParser::Status::kDone) {
    source = p.header().source.to_string();
    FUZZ_CHECK(consumed <= (p.header().version == 1 ? ProxyHeaderParser::kV1MaxLength
                                                     : ProxyHeaderParser::kV2HeaderLength + 65535));
  }
  return {status, consumed, source};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Outcome whole = feed(in, 0);
  for (size_t piece : {size_t{1}, size_t{3}, size_t{17}}) {
    Outcome split = feed(in, piece);
    FUZZ_CHECK(split.status == whole.status);
    if (whole.status == ProxyHeaderParser::Status::kDone) {
      FUZZ_CHECK(split.consumed == whole.consumed);
      FUZZ_CHECK(split.source == whole.source);
    }
  }
  return 0;
}
