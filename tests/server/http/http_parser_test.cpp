// Unit tests for the HTTP/1.1 request-head parser: exact status/close for every rejected form,
// every exposed field of valid requests, split-independence of results, pipelining, and the small
// helpers next to the parser (status.h, http_date.h).
#include <gtest/gtest.h>

#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "http/body_decoder.h"
#include "http/http_date.h"
#include "http/request_parser.h"
#include "http/status.h"

namespace reactord::http {
namespace {

using namespace std::string_literals;

ParseResult parse_whole(std::string_view in, Request& req, const ParserConfig& config = {}) {
  RequestParser parser(config);
  return parser.parse(in, req);
}

ParseResult parse_whole(std::string_view in, const ParserConfig& config = {}) {
  Request req;
  return parse_whole(in, req, config);
}

// Feeds growing prefixes ending at each cut, then the whole input; stops at the first decided
// result. Every prefix is a fresh copy, as if the receive buffer had been reallocated; the copies
// live in `buffers` because `req` may point into the last one.
ParseResult parse_cuts(std::string_view in, const std::vector<size_t>& cuts, Request& req,
                       std::list<std::string>& buffers, const ParserConfig& config = {}) {
  RequestParser parser(config);
  for (size_t cut : cuts) {
    const std::string& copy = buffers.emplace_back(in.substr(0, cut));
    const ParseResult r = parser.parse(copy, req);
    if (r.status != ParseStatus::kIncomplete) return r;
  }
  return parser.parse(in, req);
}

std::string describe(const ParseResult& r) {
  return "status=" + std::to_string(static_cast<int>(r.status)) +
         " consumed=" + std::to_string(r.consumed) + " http=" + std::to_string(r.http_status) +
         " close=" + std::to_string(r.close);
}

bool same(const ParseResult& a, const ParseResult& b) {
  return a.status == b.status && a.consumed == b.consumed && a.http_status == b.http_status &&
         a.close == b.close;
}

constexpr std::string_view kSimpleGet = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

// ---------------------------------------------------------------------------------------------
// Valid requests.

TEST(HttpParser, SimpleGetExposesEveryField) {
  const std::string in =
      "GET /plaintext?x=1 HTTP/1.1\r\n"
      "Host: example.com:8080\r\n"
      "User-Agent: test/1.0\r\n"
      "Accept:   */*  \t\r\n"
      "X-Empty:\r\n"
      "\r\n";
  Request req;
  const ParseResult r = parse_whole(in, req);
  ASSERT_EQ(r.status, ParseStatus::kComplete) << describe(r);
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(req.method, Method::kGet);
  EXPECT_EQ(req.method_text, "GET");
  EXPECT_EQ(req.target, "/plaintext?x=1");
  EXPECT_EQ(req.version_minor, 1);
  EXPECT_EQ(req.host, "example.com:8080");
  EXPECT_TRUE(req.keep_alive);
  EXPECT_FALSE(req.expect_continue);
  EXPECT_EQ(req.framing, BodyFraming::kNone);
  EXPECT_EQ(req.content_length, 0u);
  ASSERT_EQ(req.headers().size(), 4u);
  EXPECT_EQ(req.headers()[0].name, "Host");
  EXPECT_EQ(req.headers()[1].name, "User-Agent");
  EXPECT_EQ(req.headers()[1].value, "test/1.0");
  EXPECT_EQ(req.headers()[2].value, "*/*");  // OWS trimmed on both sides
  EXPECT_EQ(req.headers()[3].name, "X-Empty");
  EXPECT_EQ(req.headers()[3].value, "");
  // Views point into the caller's buffer, not into copies.
  EXPECT_EQ(req.target.data(), in.data() + 4);
  EXPECT_GE(req.host.data(), in.data());
  EXPECT_LT(req.host.data(), in.data() + in.size());
}

TEST(HttpParser, FindHeaderIsCaseInsensitive) {
  Request req;
  ASSERT_EQ(
      parse_whole("GET / HTTP/1.1\r\nhOsT: a\r\nX-Thing: 1\r\nx-thing: 2\r\n\r\n", req).status,
      ParseStatus::kComplete);
  ASSERT_NE(req.find_header("X-THING"), nullptr);
  EXPECT_EQ(req.find_header("x-thing")->value, "1");  // the first one
  EXPECT_EQ(req.find_header("host")->value, "a");
  EXPECT_EQ(req.host, "a");
  EXPECT_EQ(req.find_header("missing"), nullptr);
  EXPECT_EQ(req.find_header("X-Thin"), nullptr);
}

TEST(HttpParser, MethodsMapToEnum) {
  const std::pair<std::string_view, Method> cases[] = {
      {"GET", Method::kGet},        {"HEAD", Method::kHead},
      {"POST", Method::kPost},      {"PUT", Method::kPut},
      {"DELETE", Method::kDelete},  {"OPTIONS", Method::kOptions},
      {"PATCH", Method::kPatch},    {"TRACE", Method::kOther},
      {"CONNECT", Method::kOther},  {"get", Method::kOther},  // methods are case-sensitive
      {"M-SEARCH", Method::kOther}, {"X!#$%&'*+.^_`|~", Method::kOther},
  };
  for (const auto& [text, method] : cases) {
    const std::string in = std::string(text) + " /x HTTP/1.1\r\nHost: a\r\n\r\n";
    Request req;
    ASSERT_EQ(parse_whole(in, req).status, ParseStatus::kComplete) << text;
    EXPECT_EQ(req.method, method) << text;
    EXPECT_EQ(req.method_text, text);
    EXPECT_EQ(req.target, "/x");
  }
}

// The four forms of request-target (RFC 9112 §3.2) and what is routed on (Request::path).
TEST(HttpParser, RequestTargetForms) {
  struct Case {
    std::string_view line;  // request line
    std::string_view path;
    std::string_view host;  // after the head (Host is "a")
  };
  const Case cases[] = {
      // origin-form
      {"GET /plaintext HTTP/1.1", "/plaintext", "a"},
      {"GET /json?x=1 HTTP/1.1", "/json?x=1", "a"},
      // absolute-form: a server MUST accept it; its authority replaces Host (§3.2.2).
      {"GET http://example.com/plaintext HTTP/1.1", "/plaintext", "example.com"},
      {"GET HTTP://Example.com:8080/json?q HTTP/1.1", "/json?q", "Example.com:8080"},
      {"GET https://[::1]:443/health HTTP/1.1", "/health", "[::1]:443"},
      {"GET http://h HTTP/1.1", "/", "h"},
      {"GET http://h?q=1 HTTP/1.1", "/", "h"},
      {"POST http://h/echo HTTP/1.1", "/echo", "h"},
      // Other schemes and other shapes are left as sent (and get a 404 from the service).
      {"GET ftp://h/plaintext HTTP/1.1", "ftp://h/plaintext", "a"},
      {"GET plaintext HTTP/1.1", "plaintext", "a"},
      // asterisk-form, OPTIONS only (§3.2.4).
      {"OPTIONS * HTTP/1.1", "*", "a"},
  };
  for (const Case& c : cases) {
    const std::string in = std::string(c.line) + "\r\nHost: a\r\n\r\n";
    Request req;
    ASSERT_EQ(parse_whole(in, req).status, ParseStatus::kComplete) << c.line;
    EXPECT_EQ(req.path, c.path) << c.line;
    EXPECT_EQ(req.host, c.host) << c.line;
    EXPECT_EQ(req.target,
              c.line.substr(c.line.find(' ') + 1, c.line.rfind(' ') - c.line.find(' ') - 1));
  }
  // Refused with 400, the framing being sound (the head is whole): "*" for anything but
  // OPTIONS, an absolute-form target without a host or with userinfo.
  for (std::string_view line :
       {"GET * HTTP/1.1", "POST * HTTP/1.1", "GET http:///plaintext HTTP/1.1",
        "GET http://user@h/plaintext HTTP/1.1", "GET http://h<>/x HTTP/1.1"}) {
    const std::string in = std::string(line) + "\r\nHost: a\r\n\r\n";
    Request req;
    ParseResult r = parse_whole(in, req);
    EXPECT_EQ(r.status, ParseStatus::kError) << line;
    EXPECT_EQ(r.http_status, 400) << line;
    EXPECT_EQ(r.consumed, in.size()) << line;
  }
  // Host is still required in HTTP/1.1 with an absolute-form target (§3.2).
  Request req;
  EXPECT_EQ(parse_whole("GET http://h/ HTTP/1.1\r\n\r\n", req).http_status, 400);
}

TEST(HttpParser, Versions) {
  Request req;
  ASSERT_EQ(parse_whole("GET / HTTP/1.0\r\n\r\n", req).status, ParseStatus::kComplete);
  EXPECT_EQ(req.version_minor, 0);
  EXPECT_EQ(req.host, "");  // Host is optional in HTTP/1.0
  // HTTP/1.x with x > 1 is treated as HTTP/1.1 (RFC 9110 §2.5).
  ASSERT_EQ(parse_whole("GET / HTTP/1.9\r\nHost: a\r\n\r\n", req).status, ParseStatus::kComplete);
  EXPECT_EQ(req.version_minor, 1);
}

TEST(HttpParser, KeepAlive) {
  const std::pair<std::string_view, bool> cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, Close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: foo,  keep-alive ,bar\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nX-Connection: keep-alive\r\n\r\n", false},
  };
  for (const auto& [in, keep_alive] : cases) {
    Request req;
    ASSERT_EQ(parse_whole(in, req).status, ParseStatus::kComplete) << in;
    EXPECT_EQ(req.keep_alive, keep_alive) << in;
  }
}

TEST(HttpParser, ExpectContinue) {
  Request req;
  ASSERT_EQ(parse_whole("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                        "Content-Length: 3\r\n\r\n",
                        req)
                .status,
            ParseStatus::kComplete);
  EXPECT_TRUE(req.expect_continue);
  ASSERT_EQ(parse_whole("POST / HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue\r\n\r\n", req).status,
            ParseStatus::kComplete);
  EXPECT_TRUE(req.expect_continue);
  ASSERT_EQ(parse_whole(kSimpleGet, req).status, ParseStatus::kComplete);
  EXPECT_FALSE(req.expect_continue);
  // RFC 9110 §10.1.1: ignored in HTTP/1.0.
  ASSERT_EQ(parse_whole("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", req).status,
            ParseStatus::kComplete);
  EXPECT_FALSE(req.expect_continue);
}

TEST(HttpParser, ContentLengthFraming) {
  const std::pair<std::string_view, uint64_t> cases[] = {
      {"Content-Length: 0", 0},
      {"Content-Length: 5", 5},
      {"content-length:12345", 12345},
      {"Content-Length: 5\r\nContent-Length: 5", 5},
      {"Content-Length: 5, 5", 5},
      {"Content-Length: 5,5 ,  5", 5},
      {"Content-Length: 05\r\nContent-Length: 5", 5},  // numerically identical
      {"Content-Length: 4611686018427387904", kMaxContentLength},
  };
  for (const auto& [field, length] : cases) {
    const std::string in = "POST / HTTP/1.1\r\nHost: a\r\n" + std::string(field) + "\r\n\r\n";
    Request req;
    const ParseResult r = parse_whole(in, req);
    ASSERT_EQ(r.status, ParseStatus::kComplete) << field << " " << describe(r);
    EXPECT_EQ(r.consumed, in.size());
    EXPECT_EQ(req.framing, BodyFraming::kContentLength) << field;
    EXPECT_EQ(req.content_length, length) << field;
  }
}

TEST(HttpParser, ChunkedFraming) {
  for (std::string_view te : {"chunked", "Chunked", "CHUNKED", " chunked ", ", chunked,"}) {
    const std::string in =
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:" + std::string(te) + "\r\n\r\n";
    Request req;
    ASSERT_EQ(parse_whole(in, req).status, ParseStatus::kComplete) << te;
    EXPECT_EQ(req.framing, BodyFraming::kChunked) << te;
  }
}

TEST(HttpParser, LeadingEmptyLinesAreSkipped) {
  const std::string in = "\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  Request req;
  const ParseResult r = parse_whole(in, req);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(req.target, "/x");
}

TEST(HttpParser, FieldValuesAllowHtabAndObsText) {
  Request req;
  const std::string in = "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb \xc3\xa9\xff\r\n\r\n";
  ASSERT_EQ(parse_whole(in, req).status, ParseStatus::kComplete);
  EXPECT_EQ(req.headers()[1].value, "a\tb \xc3\xa9\xff");
}

TEST(HttpParser, HostForms) {
  for (std::string_view host :
       {"example.com", "example.com:80", "127.0.0.1:8080", "[::1]:443", "xn--bcher-kva.example"}) {
    const std::string in = "GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n";
    Request req;
    ASSERT_EQ(parse_whole(in, req).status, ParseStatus::kComplete) << host;
    EXPECT_EQ(req.host, host);
  }
  // An empty Host is valid when the target has no authority (RFC 9112 §3.2).
  Request req;
  ASSERT_EQ(parse_whole("GET / HTTP/1.1\r\nHost:\r\n\r\n", req).status, ParseStatus::kComplete);
  EXPECT_EQ(req.host, "");
}

TEST(HttpParser, ExactlyMaxHeadersIsAccepted) {
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 1; i < kMaxHeaders; ++i) in += "X-" + std::to_string(i) + ": v\r\n";
  in += "\r\n";
  Request req;
  ASSERT_EQ(parse_whole(in, req).status, ParseStatus::kComplete);
  EXPECT_EQ(req.headers().size(), kMaxHeaders);
  EXPECT_EQ(req.headers().back().name, "X-99");
}

TEST(HttpParser, HeadOfExactlyMaxBytesIsAccepted) {
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  const std::string in = start + std::string(64 - start.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(in.size(), 64u);
  EXPECT_EQ(parse_whole(in, ParserConfig{64}).status, ParseStatus::kComplete);
  EXPECT_EQ(parse_whole(in, ParserConfig{63}).http_status, kStatusRequestHeaderFieldsTooLarge);
}

// ---------------------------------------------------------------------------------------------
// Rejected requests: exact status and close flag.

struct ErrorCase {
  std::string_view name;
  std::string in;
  uint16_t status;
  bool close;
};

std::vector<ErrorCase> error_cases() {
  const std::string h = "Host: a\r\n";
  return {
      // Request line.
      {"bad method char", "G@T / HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"empty method", " / HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"double SP after method", "GET  / HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"double SP before version", "GET /  HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"trailing SP", "GET / HTTP/1.1 \r\n" + h + "\r\n", 400, true},
      {"HTAB separator", "GET\t/ HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"missing target", "GET HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"HTTP/0.9 form", "GET /\r\n\r\n", 400, true},
      {"CTL in target", "GET /a\x01 HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"DEL in target", "GET /a\x7f HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"lower-case version", "GET / http/1.1\r\n" + h + "\r\n", 400, true},
      {"version junk", "GET / HTTP/1.1x\r\n" + h + "\r\n", 400, true},
      {"version no dot", "GET / HTTP/11\r\n" + h + "\r\n", 400, true},
      {"version short", "GET / HTTP/1\r\n" + h + "\r\n", 400, true},
      {"version two digits", "GET / HTTP/1.10\r\n" + h + "\r\n", 400, true},
      {"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", 505, true},
      {"HTTP/3.0", "GET / HTTP/3.0\r\n" + h + "\r\n", 505, true},
      {"HTTP/0.9", "GET / HTTP/0.9\r\n" + h + "\r\n", 505, true},
      // Field lines.
      {"empty field name", "GET / HTTP/1.1\r\n" + h + ": v\r\n\r\n", 400, true},
      {"space in name", "GET / HTTP/1.1\r\n" + h + "X Y: v\r\n\r\n", 400, true},
      {"SP before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, true},
      {"HTAB before colon", "GET / HTTP/1.1\r\n" + h + "X\t: v\r\n\r\n", 400, true},
      {"no colon", "GET / HTTP/1.1\r\n" + h + "X\r\n\r\n", 400, true},
      {"non-token in name", "GET / HTTP/1.1\r\n" + h + "X(Y): v\r\n\r\n", 400, true},
      {"obs-fold SP", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", 400, true},
      {"obs-fold HTAB", "GET / HTTP/1.1\r\n" + h + "X: a\r\n\tb\r\n\r\n", 400, true},
      {"SP before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, true},
      {"NUL in value", "GET / HTTP/1.1\r\n" + h + "X: a\0b\r\n\r\n"s, 400, true},
      {"CTL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x1b[0m\r\n\r\n", 400, true},
      {"DEL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x7f\r\n\r\n", 400, true},
      // Line endings.
      {"bare CR in value", "GET / HTTP/1.1\r\n" + h + "X: a\rb\r\n\r\n", 400, true},
      {"CR CR LF", "GET / HTTP/1.1\r\n" + h + "X: a\r\r\n\r\n", 400, true},
      {"bare CR in request line", "GET /\r HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"bare LF after request line", "GET / HTTP/1.1\n" + h + "\r\n", 400, true},
      {"bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400, true},
      {"bare LF ending head", "GET / HTTP/1.1\r\n" + h + "\n", 400, true},
      {"bare LF leading line", "\nGET / HTTP/1.1\r\n" + h + "\r\n", 400, true},
      {"all bare LF", "GET / HTTP/1.1\nHost: a\n\n", 400, true},
      // Host: the framing is fine, so the connection may stay open.
      {"missing Host 1.1", "GET / HTTP/1.1\r\n\r\n", 400, false},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, false},
      {"two Hosts 1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400, false},
      {"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, false},
      {"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, false},
      {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, false},
      // Content-Length.
      {"CL not digits", "POST / HTTP/1.1\r\n" + h + "Content-Length: abc\r\n\r\n", 400, true},
      {"CL empty", "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n\r\n", 400, true},
      {"CL negative", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", 400, true},
      {"CL plus", "POST / HTTP/1.1\r\n" + h + "Content-Length: +1\r\n\r\n", 400, true},
      {"CL hex", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x5\r\n\r\n", 400, true},
      {"CL inner space", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1 2\r\n\r\n", 400, true},
      {"CL trailing comma", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5,\r\n\r\n", 400, true},
      {"CL overflow", "POST / HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999\r\n\r\n",
       400, true},
      {"CL above 2^62", "POST / HTTP/1.1\r\n" + h + "Content-Length: 4611686018427387905\r\n\r\n",
       400, true},
      {"CL differing fields",
       "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, true},
      {"CL differing list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 6\r\n\r\n", 400, true},
      // Transfer-Encoding.
      {"CL and TE",
       "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       true},
      {"TE and CL",
       "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
       true},
      {"TE and CL, unknown coding",
       "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", 400,
       true},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, true},
      {"TE gzip", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", 501, true},
      {"TE identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n", 501, true},
      {"TE gzip, chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n",
       501, true},
      {"TE chunked, gzip", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n",
       501, true},
      {"TE chunked then gzip field",
       "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
       501, true},
      {"TE chunked twice",
       "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400, true},
      {"TE chunked twice, two fields",
       "POST / HTTP/1.1\r\n" + h +
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: Chunked\r\n\r\n",
       400, true},
      {"TE empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n\r\n", 400, true},
      {"TE chunked with parameter",
       "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;q=1\r\n\r\n", 400, true},
      {"TE not a token", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chun ked\r\n\r\n", 400,
       true},
      // The first problem in byte order wins.
      {"bad line before missing Host", "GET / HTTP/1.1\r\nX : y\r\n\r\n", 400, true},
      {"505 before bad field", "GET / HTTP/2.0\r\nX : y\r\n\r\n", 505, true},
  };
}

TEST(HttpParser, ErrorsHaveExactStatusAndClose) {
  for (const ErrorCase& c : error_cases()) {
    const ParseResult r = parse_whole(c.in, {});
    EXPECT_EQ(r.status, ParseStatus::kError) << c.name << ": " << describe(r);
    EXPECT_EQ(r.http_status, c.status) << c.name;
    EXPECT_EQ(r.close, c.close) << c.name;
    // Without close, `consumed` is the head so the caller can skip it (and its body).
    if (!c.close) {
      EXPECT_EQ(r.consumed, c.in.size()) << c.name;
    }
  }
}

// Field values and targets are checked 8 bytes at a time; every byte value at every position of a
// long value must still be classified exactly as the RFC grammar says.
TEST(HttpParser, EveryByteAtEveryPositionOfLongValues) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool value_ok = b == '\t' || (b >= 0x20 && b != 0x7F);
    const bool target_ok = b > 0x20 && b < 0x7F;
    for (size_t pos = 0; pos < 24; ++pos) {
      std::string value(24, 'v');
      value[pos] = c;
      const std::string field = "GET / HTTP/1.1\r\nHost: a\r\nX: " + value + "\r\n\r\n";
      const ParseResult r = parse_whole(field);
      EXPECT_EQ(r.status, value_ok ? ParseStatus::kComplete : ParseStatus::kError)
          << "value byte " << b << " at " << pos;
      if (b == '\n') continue;  // a bare LF ends the line early: also 400, tested elsewhere
      std::string target = "/" + std::string(23, 't');
      target[pos] = c;
      if (pos == 0) continue;  // keep the leading '/'
      const ParseResult t = parse_whole("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
      EXPECT_EQ(t.status, target_ok ? ParseStatus::kComplete : ParseStatus::kError)
          << "target byte " << b << " at " << pos;
    }
  }
}

TEST(HttpParser, TooManyHeadersIs431) {
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 1; i <= kMaxHeaders; ++i) in += "X-" + std::to_string(i) + ": v\r\n";
  in += "\r\n";
  const ParseResult r = parse_whole(in);
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.http_status, kStatusRequestHeaderFieldsTooLarge);
  EXPECT_TRUE(r.close);
}

TEST(HttpParser, OversizedHeadIs431) {
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(kDefaultMaxHeaderBytes, 'v');
  in += "\r\n\r\n";
  const ParseResult r = parse_whole(in);
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.http_status, kStatusRequestHeaderFieldsTooLarge);
  EXPECT_TRUE(r.close);
}

TEST(HttpParser, OversizedHeadIsDetectedBeforeItEnds) {
  // The head never ends; 431 must come as soon as max_header_bytes are buffered.
  const std::string prefix = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: ";
  std::string buffer = prefix;
  RequestParser parser;
  Request req;
  ParseResult r;
  while (buffer.size() < kDefaultMaxHeaderBytes - 1) {
    buffer.append(100, 'v');
    buffer.resize(std::min(buffer.size(), kDefaultMaxHeaderBytes - 1));
    r = parser.parse(buffer, req);
    ASSERT_EQ(r.status, ParseStatus::kIncomplete) << buffer.size();
  }
  buffer += 'v';  // now exactly max bytes with no end of head in sight
  r = parser.parse(buffer, req);
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.http_status, kStatusRequestHeaderFieldsTooLarge);
  EXPECT_TRUE(r.close);
  // Same for a request line that never ends, with a small configured limit.
  EXPECT_EQ(parse_whole("GET /" + std::string(100, 'a'), ParserConfig{64}).http_status,
            kStatusRequestHeaderFieldsTooLarge);
  EXPECT_EQ(parse_whole("GET /" + std::string(58, 'a'), ParserConfig{64}).status,
            ParseStatus::kIncomplete);
}

TEST(HttpParser, LeadingEmptyLinesCountTowardsTheLimit) {
  // CRs without LFs are a line full of bare CRs, not empty lines.
  const std::string in = std::string(40, '\r') + "\n\r\n";
  EXPECT_EQ(parse_whole(in).http_status, kStatusBadRequest);
  std::string empties;
  for (int i = 0; i < 40; ++i) empties += "\r\n";
  EXPECT_EQ(parse_whole(empties, ParserConfig{64}).status, ParseStatus::kError);
  EXPECT_EQ(parse_whole(empties, ParserConfig{64}).http_status, kStatusRequestHeaderFieldsTooLarge);
  EXPECT_EQ(parse_whole(empties).status, ParseStatus::kIncomplete);
}

// ---------------------------------------------------------------------------------------------
// Incremental input.

TEST(HttpParser, PrefixesAreIncomplete) {
  const std::string in = "GET /abc HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
  for (size_t n = 0; n < in.size(); ++n) {
    EXPECT_EQ(parse_whole(std::string_view(in).substr(0, n)).status, ParseStatus::kIncomplete) << n;
  }
}

std::vector<std::string> split_cases() {
  std::vector<std::string> cases = {
      std::string(kSimpleGet),
      "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: b\r\n\r\n",
  };
  for (const ErrorCase& c : error_cases()) cases.push_back(c.in);
  return cases;
}

void expect_split_independent(const std::string& in, const ParserConfig& config = {}) {
  Request whole_req;
  const ParseResult whole = parse_whole(in, whole_req, config);
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    Request req;
    std::list<std::string> buffers;
    const ParseResult r = parse_cuts(in, {cut}, req, buffers, config);
    ASSERT_TRUE(same(r, whole)) << "cut " << cut << " of: " << in << "\nwhole: " << describe(whole)
                                << "\nsplit: " << describe(r);
    if (r.status == ParseStatus::kComplete) {
      EXPECT_EQ(req.target, whole_req.target);
      EXPECT_EQ(req.headers().size(), whole_req.headers().size());
    }
  }
  std::vector<size_t> every_byte;
  for (size_t n = 0; n <= in.size(); ++n) every_byte.push_back(n);
  Request req;
  std::list<std::string> buffers;
  const ParseResult r = parse_cuts(in, every_byte, req, buffers, config);
  ASSERT_TRUE(same(r, whole)) << "byte by byte: " << in << "\nwhole: " << describe(whole)
                              << "\nsplit: " << describe(r);
}

TEST(HttpParser, SplitPointsDoNotChangeTheResult) {
  for (const std::string& in : split_cases()) expect_split_independent(in);
}

TEST(HttpParser, SplitPointsDoNotChangeLimitErrors) {
  // Mixes of limit errors, syntax errors and incomplete input near the limit.
  std::string long_line = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(60, 'v') + "\r\n\r\n";
  expect_split_independent(long_line, ParserConfig{64});
  std::string bad_then_long = "GET / HTTP/1.1\r\nX : y\r\nZ: " + std::string(60, 'v') + "\r\n\r\n";
  expect_split_independent(bad_then_long, ParserConfig{64});
  expect_split_independent("GET /" + std::string(80, 'a'), ParserConfig{64});
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (size_t i = 1; i <= kMaxHeaders + 5; ++i) many += "X: v\r\n";
  expect_split_independent(many + "\r\n");
}

TEST(HttpParser, BufferMayMoveBetweenCalls) {
  const std::string in = "GET /moved HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n";
  RequestParser parser;
  Request req;
  std::string first(in.substr(0, 25));
  ASSERT_EQ(parser.parse(first, req).status, ParseStatus::kIncomplete);
  first.clear();
  first.shrink_to_fit();
  const std::string second = in;  // a different allocation with the same contents
  const ParseResult r = parser.parse(second, req);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(req.target, "/moved");
  EXPECT_EQ(req.target.data(), second.data() + 4);
  EXPECT_EQ(req.find_header("x-a")->value, "1");
}

TEST(HttpParser, ParserResetsAfterEachResult) {
  RequestParser parser;
  Request req;
  ASSERT_EQ(parser.parse(std::string_view(kSimpleGet).substr(0, 10), req).status,
            ParseStatus::kIncomplete);
  ASSERT_EQ(parser.parse(kSimpleGet, req).status, ParseStatus::kComplete);
  // A new, unrelated buffer: the parser must not carry state over.
  EXPECT_EQ(parser.parse("GET / HTTP/2.0\r\n\r\n", req).http_status,
            kStatusHttpVersionNotSupported);
  EXPECT_EQ(parser.parse(kSimpleGet, req).status, ParseStatus::kComplete);
  // A shorter buffer after kIncomplete is taken as a restart.
  ASSERT_EQ(parser.parse("GET /long-prefix", req).status, ParseStatus::kIncomplete);
  EXPECT_EQ(parser.parse(kSimpleGet, req).status, ParseStatus::kComplete);
}

// ---------------------------------------------------------------------------------------------
// Pipelining.

TEST(HttpParser, HundredPipelinedRequestsParseInOrder) {
  std::string stream;
  for (int i = 0; i < 100; ++i) {
    const std::string target = "/r" + std::to_string(i);
    switch (i % 3) {
      case 0:
        stream += "GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n";
        break;
      case 1:
        stream += "POST " + target + " HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
        break;
      default:
        stream += "PUT " + target +
                  " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "2\r\nxy\r\n1;ext=1\r\nz\r\n0\r\nT: v\r\n\r\n";
        break;
    }
  }
  RequestParser parser;
  Request req;
  size_t offset = 0;
  for (int i = 0; i < 100; ++i) {
    const ParseResult head = parser.parse(std::string_view(stream).substr(offset), req);
    ASSERT_EQ(head.status, ParseStatus::kComplete) << i;
    EXPECT_EQ(req.target, "/r" + std::to_string(i));
    offset += head.consumed;
    BodyDecoder body(req);
    std::string bytes;
    const BodyResult b = body.feed(stream.data() + offset, stream.size() - offset,
                                   [&bytes](std::string_view piece) { bytes.append(piece); });
    ASSERT_EQ(b.status, BodyStatus::kDone) << i;
    EXPECT_EQ(bytes, i % 3 == 0 ? "" : i % 3 == 1 ? "abc" : "xyz") << i;
    offset += b.consumed;
  }
  EXPECT_EQ(offset, stream.size());
}

// ---------------------------------------------------------------------------------------------
// status.h and http_date.h.

TEST(HttpStatus, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(kStatusOk), "OK");
  EXPECT_EQ(reason_phrase(kStatusBadRequest), "Bad Request");
  EXPECT_EQ(reason_phrase(kStatusContentTooLarge), "Content Too Large");
  EXPECT_EQ(reason_phrase(kStatusRequestHeaderFieldsTooLarge), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(kStatusNotImplemented), "Not Implemented");
  EXPECT_EQ(reason_phrase(kStatusHttpVersionNotSupported), "HTTP Version Not Supported");
  EXPECT_EQ(reason_phrase(299), "");
}

std::string http_date(int64_t t) {
  char buf[kHttpDateLength];
  const size_t n = format_http_date(t, buf);
  return std::string(buf, n);
}

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  EXPECT_EQ(http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(http_date(1700000000), "Tue, 14 Nov 2023 22:13:20 GMT");
  EXPECT_EQ(http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(http_date(253402300799), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(http_date(INT64_MAX), "Fri, 31 Dec 9999 23:59:59 GMT");  // clamped
  EXPECT_EQ(http_date(INT64_MIN).substr(5), "01 Jan 0000 00:00:00 GMT");
}

}  // namespace
}  // namespace reactord::http
