// reactord's HTTP endpoints over real sockets, per backend: /plaintext, /json, /health, /metrics,
// POST /echo (Content-Length and chunked, --max-body), HEAD, 404, 405 + Allow, keep-alive rules.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/payload.h"

namespace {

using ht::Client;
using ht::Response;
using reactor::BackendKind;

class HttpEndpoints : public ht::HttpServerTest {};

// The connection ends with an orderly EOF and nothing after the last response.
void expect_eof(Client& c) {
  ht::EofResult e = c.read_eof(10000);
  EXPECT_TRUE(e.eof) << "no EOF after the response: " << e.error;
  EXPECT_EQ(e.extra, "") << "bytes after the response: " << ht::printable(e.extra);
}

// The connection is still usable: one more request gets its answer.
void expect_open(Client& c) {
  ht::ReadResult r = c.roundtrip(ht::get("/health"));
  ASSERT_TRUE(r.ok) << "connection not usable any more: " << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r.response.body, "ok\n");
}

void expect_common_headers(const Response& r) {
  EXPECT_EQ(r.header_count("Server"), 1u);
  EXPECT_FALSE(r.header("Server").value_or("").empty());
  ASSERT_EQ(r.header_count("Date"), 1u);
  int64_t when = 0;
  std::string date = r.header("Date").value_or("");
  EXPECT_TRUE(ht::is_imf_fixdate(date, &when)) << "Date is not an IMF-fixdate: " << date;
  // The server's clock and ours are the same clock: the date is about now (not a timing check).
  int64_t now = static_cast<int64_t>(time(nullptr));
  EXPECT_LT(std::llabs(now - when), 3600) << "Date far from now: " << date;
}

TEST_P(HttpEndpoints, Plaintext) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r = c.roundtrip(ht::get("/plaintext"));
  ASSERT_TRUE(ht::is_200(r, "Hello, World!"));
  EXPECT_EQ(r.response.header("Content-Type").value_or(""), "text/plain");
  EXPECT_EQ(r.response.header("Content-Length").value_or(""), "13");
  EXPECT_FALSE(r.response.says_close());
  expect_common_headers(r.response);
  // Keep-alive by default in HTTP/1.1; a query string still routes to /plaintext.
  r = c.roundtrip(ht::get("/plaintext?x=1"));
  ASSERT_TRUE(ht::is_200(r, "Hello, World!"));
}

TEST_P(HttpEndpoints, Json) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r = c.roundtrip(ht::get("/json"));
  ASSERT_TRUE(ht::is_200(r, "{\"message\":\"Hello, World!\"}"));
  EXPECT_EQ(r.response.header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(r.response.header("Content-Length").value_or(""),
            std::to_string(r.response.body.size()));
  expect_common_headers(r.response);
}

TEST_P(HttpEndpoints, Health) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r = c.roundtrip(ht::get("/health"));
  ASSERT_TRUE(ht::is_200(r));
  // The body is "ok" (a trailing newline is allowed).
  EXPECT_TRUE(r.response.body == "ok" || r.response.body == "ok\n")
      << ht::printable(r.response.body);
  EXPECT_TRUE(r.response.header("Content-Type").value_or("").starts_with("text/plain"));
  expect_common_headers(r.response);
}

// HEAD answers exactly like GET (same status and header fields in the same order; only the
// Date value, and for /metrics the length of the ever-changing body, may differ) without a
// body: the next response on the connection starts right after the HEAD response's head.
TEST_P(HttpEndpoints, HeadMatchesGetWithoutBody) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  for (std::string path : {"/plaintext", "/json", "/health", "/metrics", "/nowhere"}) {
    SCOPED_TRACE(path);
    // HEAD and GET pipelined: a HEAD response with a body would corrupt the GET one.
    std::vector<Response> rs;
    std::string err;
    ASSERT_TRUE(c.transact(ht::head(path) + ht::get(path), 2, {true, false}, &rs, &err)) << err;
    const Response& h = rs[0];
    const Response& g = rs[1];
    EXPECT_EQ(h.status_line, g.status_line);
    EXPECT_EQ(h.raw.size(), h.head_size) << "HEAD response has a body";
    ASSERT_EQ(h.headers.size(), g.headers.size());
    for (size_t i = 0; i < h.headers.size(); ++i) {
      EXPECT_EQ(h.headers[i].first, g.headers[i].first);
      const std::string& name = h.headers[i].first;
      if (name == "Date" || (path == "/metrics" && name == "Content-Length")) continue;
      EXPECT_EQ(h.headers[i].second, g.headers[i].second) << name;
    }
    if (path != "/metrics") {
      EXPECT_EQ(h.header("Content-Length").value_or("-"), std::to_string(g.body.size()));
    }
    EXPECT_EQ(c.pending(), "");
  }
  expect_open(c);
}

TEST_P(HttpEndpoints, UnknownPathIs404) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  // ("*" is for OPTIONS only: a GET of it is a bad request, see OptionsAnswersWithAllow.)
  for (std::string path : {"/", "/nope", "/plaintext/x", "/plaintextx", "/ECHO", "ftp://x/json"}) {
    SCOPED_TRACE(path);
    ht::ReadResult r = c.roundtrip(ht::get(path));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.response.status_line, "HTTP/1.1 404 Not Found");
    EXPECT_FALSE(r.response.says_close());
  }
  // A POST to nowhere: its body is skipped, the connection goes on.
  ht::ReadResult r = c.roundtrip(ht::post("/nope", "GET /health HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 404 Not Found");
  r = c.roundtrip(ht::head("/nope"), true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 404 Not Found");
  expect_open(c);
}

TEST_P(HttpEndpoints, WrongMethodIs405WithAllow) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  struct Case {
    std::string req;
    bool head;
    std::string allow;
  };
  const Case cases[] = {
      {ht::post("/plaintext", "abc"), false, "GET, HEAD, OPTIONS"},
      {ht::post_chunked("/json", "some body", {3}), false, "GET, HEAD, OPTIONS"},
      {ht::request("PUT", "/health", "Content-Length: 0\r\n"), false, "GET, HEAD, OPTIONS"},
      {ht::request("DELETE", "/plaintext"), false, "GET, HEAD, OPTIONS"},
      {ht::request("POST", "/metrics", "Content-Length: 0\r\n"), false, "GET, HEAD, OPTIONS"},
      {ht::request("PATCH", "/json", "Content-Length: 2\r\n") + "{}", false, "GET, HEAD, OPTIONS"},
      {ht::get("/echo"), false, "POST, OPTIONS"},
      {ht::head("/echo"), true, "POST, OPTIONS"},
      {ht::request("PUT", "/echo", "Content-Length: 3\r\n") + "xyz", false, "POST, OPTIONS"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(ht::printable(k.req, 60));
    ht::ReadResult r = c.roundtrip(k.req, k.head);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.response.status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(r.response.header_count("Allow"), 1u);
    EXPECT_EQ(r.response.header("Allow").value_or(""), k.allow);
    EXPECT_FALSE(r.response.says_close());
    if (k.head) {
      EXPECT_EQ(r.response.raw.size(), r.response.head_size);
    }
  }
  expect_open(c);
}

// RFC 9112 §3.2.2: a server MUST accept the absolute-form (what a client talking to a proxy
// sends). It is routed by its path, on any scheme case, with or without a query.
TEST_P(HttpEndpoints, AbsoluteFormTargetIsRouted) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r = c.roundtrip(ht::get("http://test/plaintext"));
  ASSERT_TRUE(ht::is_200(r, "Hello, World!"));
  r = c.roundtrip(ht::get("HTTP://Example.com:8080/json?x=1"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.code, 200);
  EXPECT_EQ(r.response.body, "{\"message\":\"Hello, World!\"}");
  r = c.roundtrip(ht::head("https://[::1]/health"), true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.code, 200);
  r = c.roundtrip(ht::post("http://test/echo", "absolute body"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.code, 200);
  EXPECT_EQ(r.response.body, "absolute body");
  r = c.roundtrip(ht::post_chunked("http://test/echo", "chunked absolute", {4}));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.body, "chunked absolute");
  r = c.roundtrip(ht::get("http://test/nope"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.code, 404);
  r = c.roundtrip(ht::get("http://test"));  // no path: the root, which serves nothing
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.code, 404);
  expect_open(c);
}

// An unknown method is 501 Not Implemented whatever the path (RFC 9110 §15.6.2); a known method
// the path does not take stays 405 with Allow. The head is sound, so the connection goes on
// after its body is skipped; /metrics counts the 501 as a response and as not_implemented.
TEST_P(HttpEndpoints, UnknownMethodIs501) {
  if (!start()) return;
  ht::Metrics before = ht::scrape(addr());
  ASSERT_FALSE(before.empty());
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  const std::string inner = ht::get("/json");  // in the skipped body: must not be answered
  const std::string reqs = ht::request("BREW", "/plaintext",
                                       "Content-Length: " + std::to_string(inner.size()) + "\r\n") +
                           inner + ht::request("TRACE", "/nope") +
                           ht::request("get", "/plaintext") + ht::request("DELETE", "/json") +
                           ht::get("/plaintext");
  std::vector<ht::Response> rs;
  std::string err;
  ASSERT_TRUE(c.transact(reqs, 5, {}, &rs, &err)) << err;
  for (int i : {0, 1, 2}) {
    EXPECT_EQ(rs[i].status_line, "HTTP/1.1 501 Not Implemented") << i;
    EXPECT_FALSE(rs[i].says_close()) << i;
    EXPECT_EQ(rs[i].body, "not implemented\n") << i;
  }
  EXPECT_EQ(rs[3].status_line, "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(rs[3].header("Allow").value_or(""), "GET, HEAD, OPTIONS");
  EXPECT_EQ(rs[4].body, "Hello, World!");
  expect_open(c);
  ht::Metrics after = ht::scrape(addr());
  ASSERT_FALSE(after.empty());
  auto delta = [&](const std::string& k) { return ht::value(after, k) - ht::value(before, k); };
  EXPECT_EQ(delta(ht::responses_key(501)), 3);
  EXPECT_EQ(delta(ht::responses_key(405)), 1);
  // The first scrape, /plaintext and expect_open's request.
  EXPECT_EQ(delta(ht::responses_key(200)), 3);
  EXPECT_EQ(delta(ht::rejected_key("not_implemented")), 3);
  EXPECT_EQ(delta(ht::rejected_key("bad_request")), 0);
}

// OPTIONS * asks about the server, OPTIONS PATH about that path: 200 with Allow and no
// content. "*" with any other method is a bad request (RFC 9112 §3.2.4), and ends the
// connection like every request that fails to parse.
TEST_P(HttpEndpoints, OptionsAnswersWithAllow) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  const std::pair<std::string, std::string> cases[] = {
      {"*", "GET, HEAD, POST, OPTIONS"},     {"/plaintext", "GET, HEAD, OPTIONS"},
      {"/json", "GET, HEAD, OPTIONS"},       {"/health", "GET, HEAD, OPTIONS"},
      {"/metrics", "GET, HEAD, OPTIONS"},    {"/echo", "POST, OPTIONS"},
      {"http://test/echo", "POST, OPTIONS"},
  };
  for (const auto& [target, allow] : cases) {
    SCOPED_TRACE(target);
    ht::ReadResult r = c.roundtrip(ht::request("OPTIONS", target));
    ASSERT_TRUE(ht::is_200(r));
    EXPECT_EQ(r.response.header_count("Allow"), 1u);
    EXPECT_EQ(r.response.header("Allow").value_or(""), allow);
    EXPECT_EQ(r.response.header("Content-Length").value_or(""), "0");
    EXPECT_EQ(r.response.body, "");
  }
  ht::ReadResult r = c.roundtrip(ht::request("OPTIONS", "/nope"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.code, 404);
  expect_open(c);

  Client bad(addr());
  ASSERT_TRUE(bad.ok()) << bad.error();
  r = bad.roundtrip(ht::get("*"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 400 Bad Request");
  EXPECT_TRUE(r.response.says_close());
  ht::EofResult e = bad.read_eof();
  EXPECT_TRUE(e.eof) << e.error;
}

// A request that fails to parse is answered from a fresh state: HTTP/1.1, Connection: close,
// then EOF - never with the keep-alive or version state the previous request left (here an
// HTTP/1.0 keep-alive request, whose answer says "Connection: keep-alive").
TEST_P(HttpEndpoints, BadRequestAfterKeepAliveHttp10GetsFreshState) {
  if (!start()) return;
  for (const std::string& bad :
       {std::string("GET /plaintext HTTP/1.1\r\n\r\n"),                        // no Host
        std::string("GET /plaintext HTTP/1.1\r\nHost: a b\r\n\r\n"),           // bad Host
        std::string("GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),  // two
        std::string("GET /plaintext HTTP/1.1\r\nX: a\x01\r\n\r\n")}) {         // bad field
    SCOPED_TRACE(ht::printable(bad));
    Client c(addr());
    ASSERT_TRUE(c.ok()) << c.error();
    ht::ReadResult r =
        c.roundtrip(ht::request("GET", "/plaintext", "Connection: keep-alive\r\n", "HTTP/1.0"));
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.response.code, 200);
    ASSERT_EQ(r.response.header("Connection").value_or(""), "keep-alive");
    r = c.roundtrip(bad + ht::get("/plaintext"));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.response.status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(r.response.header_count("Connection"), 1u);
    EXPECT_TRUE(r.response.says_close()) << r.response.raw;
    ht::EofResult e = c.read_eof();
    EXPECT_TRUE(e.eof) << e.error;
    EXPECT_EQ(e.extra, "") << "answered after the refusal: " << ht::printable(e.extra);
  }
}

TEST_P(HttpEndpoints, MetricsExposition) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c.roundtrip(ht::get("/plaintext")).ok);  // at least one 200 before the scrape
  ht::ReadResult r = c.roundtrip(ht::get("/metrics"));
  ASSERT_TRUE(r.ok) << r.error;
  const Response& m = r.response;
  EXPECT_EQ(m.status_line, "HTTP/1.1 200 OK");
  std::string type = m.header("Content-Type").value_or("");
  EXPECT_TRUE(type.starts_with("text/plain; version=0.0.4")) << type;
  expect_common_headers(m);

  // Well-formed exposition: every sample line is "name[{labels}] value" with a # TYPE first.
  std::set<std::string> typed;
  size_t samples = 0;
  std::string_view text = m.body;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    ASSERT_NE(nl, std::string_view::npos) << "last line not terminated";
    std::string line(text.substr(0, nl));
    text.remove_prefix(nl + 1);
    if (line.starts_with("# TYPE ")) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.starts_with("#")) continue;
    std::string name = line.substr(0, line.find_first_of("{ "));
    // A histogram's samples are its name + _bucket, _sum or _count.
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!typed.count(name) && name.ends_with(suffix)) name.resize(name.size() - suffix.size());
    }
    EXPECT_TRUE(typed.count(name)) << "sample before its # TYPE: " << line;
    size_t sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    std::string v = line.substr(sp + 1);
    EXPECT_FALSE(v.empty());
    EXPECT_EQ(v.find_first_not_of("0123456789.-+eE"), std::string::npos) << line;
    ++samples;
  }
  EXPECT_GT(samples, 10u);

  ht::Metrics mx = ht::parse_metrics(m.body);
  auto has_prefix = [&](const std::string& prefix) {
    return std::any_of(mx.begin(), mx.end(),
                       [&](const auto& kv) { return kv.first.starts_with(prefix); });
  };
  double active = 0;
  for (const auto& [k, v] : mx)
    if (k.starts_with("reactord_connections_active")) active += v;
  EXPECT_GE(active, 1) << "the scraping connection itself is open";
  EXPECT_GE(ht::value(mx, ht::responses_key(200)), 1);
  EXPECT_TRUE(mx.count("reactord_host_listen_overflows_total"));
  EXPECT_TRUE(mx.count("reactord_host_listen_drops_total"));
  EXPECT_TRUE(mx.count("reactord_host_tcp_time_wait_sockets"));
  EXPECT_TRUE(has_prefix("reactord_listener_accept_queue{"));
  bool http_queue = std::any_of(mx.begin(), mx.end(), [&](const auto& kv) {
    return kv.first.starts_with("reactord_listener_accept_queue{") &&
           kv.first.find("protocol=\"http\"") != std::string::npos &&
           kv.first.find(addr().to_string()) != std::string::npos;
  });
  EXPECT_TRUE(http_queue) << "no accept-queue sample for the http listener " << addr().to_string();
  for (const char* reason : ht::kRejectReasons)
    EXPECT_TRUE(mx.count(ht::rejected_key(reason))) << reason;

  const std::string backend = reactor::backend_kind_name(GetParam());
  rt::RunResult version = rt::run_process({rt::reactord_path(), "--version"});
  std::string v = version.out.substr(9, version.out.find('\n') - 9);  // "reactord 0.1.0"
  EXPECT_EQ(ht::value(mx, "reactord_build_info{version=\"" + v + "\",backend=\"" + backend + "\"}"),
            1);
  size_t infos = 0;
  for (const auto& [k, v] : mx) infos += k.starts_with("reactord_build_info");
  EXPECT_EQ(infos, 1u) << "exactly one build_info sample";

  // The process_* metrics describe this very process.
  EXPECT_GT(ht::value(mx, "process_resident_memory_bytes"), 0);
  EXPECT_GE(ht::value(mx, "process_virtual_memory_bytes"),
            ht::value(mx, "process_resident_memory_bytes"));
  EXPECT_GE(ht::value(mx, "process_open_fds"), 3);
  struct rlimit rl {};
  ASSERT_EQ(prlimit(server_.pid(), RLIMIT_NOFILE, nullptr, &rl), 0);
  EXPECT_EQ(ht::value(mx, "process_max_fds"), static_cast<double>(rl.rlim_cur));
  EXPECT_GE(ht::value(mx, "process_cpu_seconds_total"), 0);
  const double now = static_cast<double>(time(nullptr));
  const double started = ht::value(mx, "process_start_time_seconds");
  EXPECT_GT(started, now - 600);
  EXPECT_LE(started, now + 1);
}

// The duration histogram counts each request once: its _count and +Inf bucket move by exactly
// the requests made (the scrape before them included: a scrape is counted once answered), and
// its buckets are cumulative.
TEST_P(HttpEndpoints, RequestDurationHistogramCountsEachRequest) {
  if (!start()) return;
  const std::string name = "reactord_http_request_duration_seconds";
  ht::Metrics before = ht::scrape(addr());
  Client c(addr());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.roundtrip(ht::get("/plaintext")).ok);
  ht::Metrics after = ht::scrape(addr());
  EXPECT_EQ(ht::value(after, name + "_count") - ht::value(before, name + "_count"), 6);
  EXPECT_EQ(ht::value(after, name + "_bucket{le=\"+Inf\"}"), ht::value(after, name + "_count"));
  double last = 0;
  int buckets = 0;
  for (const auto& [k, v] : after) {
    if (!k.starts_with(name + "_bucket{")) continue;
    ++buckets;
  }
  EXPECT_EQ(buckets, 11);
  for (const char* le : {"1.6e-05", "6.4e-05", "0.000256", "0.001024", "0.004096", "0.016384",
                         "0.065536", "0.262144", "1.048576", "4.194304", "+Inf"}) {
    double v = ht::value(after, name + "_bucket{le=\"" + std::string(le) + "\"}");
    EXPECT_GE(v, last) << le;
    last = v;
  }
  EXPECT_TRUE(after.count(name + "_sum"));  // microsecond requests may add nothing to it
}

TEST_P(HttpEndpoints, MetricsCountersMoveExactly) {
  if (!start()) return;
  ht::Metrics before = ht::scrape(addr());
  ASSERT_FALSE(before.empty());
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  for (int i = 0; i < 3; ++i) {
    ht::ReadResult r = c.roundtrip(ht::get("/missing-" + std::to_string(i)));
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.response.code, 404);
  }
  for (int i = 0; i < 2; ++i) ASSERT_EQ(c.roundtrip(ht::get("/plaintext")).response.code, 200);
  ASSERT_EQ(c.roundtrip(ht::request("DELETE", "/json")).response.code, 405);
  ht::Metrics after = ht::scrape(addr());
  ASSERT_FALSE(after.empty());
  auto delta = [&](const std::string& k) { return ht::value(after, k) - ht::value(before, k); };
  EXPECT_EQ(delta(ht::responses_key(404)), 3);
  // Two /plaintext plus the first scrape (whichever side of the rendering it is counted on).
  EXPECT_EQ(delta(ht::responses_key(200)), 3);
  EXPECT_EQ(delta(ht::responses_key(405)), 1);
  for (const char* reason : ht::kRejectReasons)
    EXPECT_EQ(delta(ht::rejected_key(reason)), 0) << reason;
}

// ---------------------------------------------------------------- POST /echo

TEST_P(HttpEndpoints, EchoContentLengthByteExact) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  for (size_t size : {size_t{0}, size_t{1}, size_t{2}, size_t{100}, size_t{4096}, size_t{16385},
                      size_t{65536}, size_t{300'000}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string body = rt::random_bytes(size, size + 7);
    ht::ReadResult r = c.roundtrip(ht::post("/echo", body), false, 30000);
    ASSERT_TRUE(ht::is_200(r));
    EXPECT_EQ(r.response.header("Content-Length").value_or(""), std::to_string(size));
    EXPECT_FALSE(r.response.chunked);
    EXPECT_TRUE(r.response.body == body) << "echoed body differs";
    expect_common_headers(r.response);
  }
  expect_open(c);
}

// A chunked request body is collected (it may still turn out too large: 413) and echoed whole
// with a Content-Length.
TEST_P(HttpEndpoints, EchoChunkedRepliesWithLength) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  struct Case {
    size_t size;
    std::vector<size_t> chunks;
  };
  const Case cases[] = {
      {1, {}}, {10, {1}}, {1000, {7, 300, 1}}, {70'000, {4096}}, {200'000, {65536, 13}}};
  for (const Case& k : cases) {
    SCOPED_TRACE("size " + std::to_string(k.size));
    std::string body = rt::random_bytes(k.size, k.size * 3 + 1);
    ht::ReadResult r = c.roundtrip(ht::post_chunked("/echo", body, k.chunks), false, 30000);
    ASSERT_TRUE(ht::is_200(r));
    EXPECT_FALSE(r.response.chunked);
    EXPECT_EQ(r.response.header("Content-Length").value_or(""), std::to_string(k.size));
    EXPECT_TRUE(r.response.body == body) << "echoed body differs";
  }
  // An empty chunked body: just the last chunk.
  ht::ReadResult r = c.roundtrip(ht::post_chunked("/echo", ""));
  ASSERT_TRUE(ht::is_200(r, ""));
  // Chunk extensions and a trailer section are accepted and not echoed.
  std::string req = ht::request("POST", "/echo", "Transfer-Encoding: chunked\r\n") +
                    "3;name=value\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n";
  r = c.roundtrip(req);
  ASSERT_TRUE(ht::is_200(r, "abcde"));
  expect_open(c);
}

TEST_P(HttpEndpoints, EchoOneMebibyteBody) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  const std::string body = rt::random_bytes(1 << 20, 42);
  ht::ReadResult r = c.roundtrip(ht::post("/echo", body), false, 60000);
  ASSERT_TRUE(ht::is_200(r));
  EXPECT_TRUE(r.response.body == body) << "1 MiB Content-Length body differs";
  r = c.roundtrip(ht::post_chunked("/echo", body, {100'000}), false, 60000);
  ASSERT_TRUE(ht::is_200(r));
  EXPECT_TRUE(r.response.body == body) << "1 MiB chunked body differs";
  expect_open(c);
}

// Expect: 100-continue: the interim 100 comes before the body is sent, then the echo.
TEST_P(HttpEndpoints, EchoExpectContinue) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  std::string body = rt::random_bytes(5000, 77);
  ht::ReadResult r =
      c.roundtrip(ht::request("POST", "/echo", "Content-Length: 5000\r\nExpect: 100-continue\r\n"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 100 Continue");
  r = c.roundtrip(body);
  ASSERT_TRUE(ht::is_200(r));
  EXPECT_TRUE(r.response.body == body);
  expect_open(c);
}

// A body on a request that does not use it (GET with Content-Length, or chunked) is skipped,
// not taken for the next request.
TEST_P(HttpEndpoints, UnusedRequestBodiesAreSkipped) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  const std::string inner = ht::get("/json");  // would be answered if the body were parsed
  std::vector<Response> rs;
  std::string err;
  std::string reqs =
      ht::request("GET", "/plaintext", "Content-Length: " + std::to_string(inner.size()) + "\r\n") +
      inner + ht::post_chunked("/health", inner, {5}) + ht::get("/plaintext");
  ASSERT_TRUE(c.transact(reqs, 3, {}, &rs, &err)) << err;
  EXPECT_EQ(rs[0].body, "Hello, World!");
  EXPECT_EQ(rs[1].status_line, "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(rs[2].body, "Hello, World!");
  rt::sleep_ms(50);  // anything extra would have arrived by now; nothing may
  bool eof = false;
  c.poll_in(0, &eof);
  EXPECT_EQ(c.pending(), "");
  EXPECT_FALSE(eof);
}

// Content-Length above the default limit (1 MiB): 413 at once, without the body being sent.
TEST_P(HttpEndpoints, EchoDeclaredTooLargeDefaultLimit) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r =
      c.roundtrip(ht::request("POST", "/echo", "Content-Length: 1048577\r\n"), false, 10000);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 413 Content Too Large");
  EXPECT_TRUE(r.response.says_close());
  expect_eof(c);
}

TEST_P(HttpEndpoints, EchoDeclaredTooLargeMaxBody) {
  if (!start({"--max-body", "1000"})) return;
  Client ok(addr());
  ASSERT_TRUE(ok.ok()) << ok.error();
  std::string body = rt::random_bytes(1000, 5);
  ht::ReadResult r = ok.roundtrip(ht::post("/echo", body));
  ASSERT_TRUE(ht::is_200(r));
  EXPECT_TRUE(r.response.body == body);

  ht::Metrics before = ht::scrape(addr());
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  // Head only: the answer must not wait for the 1001 bytes.
  r = c.roundtrip(ht::request("POST", "/echo", "Content-Length: 1001\r\n"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 413 Content Too Large");
  EXPECT_TRUE(r.response.says_close());
  expect_eof(c);
  // With Expect: 100-continue the client is refused before it sends anything, too.
  Client e(addr());
  ASSERT_TRUE(e.ok()) << e.error();
  r = e.roundtrip(ht::request("POST", "/echo", "Content-Length: 5000\r\nExpect: 100-continue\r\n"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 413 Content Too Large");
  expect_eof(e);
  ht::Metrics after = ht::scrape(addr());
  EXPECT_EQ(ht::value(after, ht::responses_key(413)) - ht::value(before, ht::responses_key(413)),
            2);
  EXPECT_EQ(ht::value(after, ht::rejected_key("body_too_large")) -
                ht::value(before, ht::rejected_key("body_too_large")),
            2);
}

// A chunked body whose chunks add up to more than --max-body: one 413 response, then close.
TEST_P(HttpEndpoints, EchoChunkedGrowingOverMaxBody) {
  if (!start({"--max-body", "1000"})) return;
  ht::Metrics before = ht::scrape(addr());
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  std::string body = rt::random_bytes(1500, 9);
  ht::ReadResult r = c.roundtrip(ht::post_chunked("/echo", body, {400}));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 413 Content Too Large");
  expect_eof(c);
  ht::Metrics after = ht::scrape(addr());
  EXPECT_EQ(ht::value(after, ht::rejected_key("body_too_large")) -
                ht::value(before, ht::rejected_key("body_too_large")),
            1);
}

// The first chunk alone is above --max-body: one 413 response, then close.
TEST_P(HttpEndpoints, EchoChunkedFirstChunkOverMaxBody) {
  if (!start({"--max-body", "1000"})) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r =
      c.roundtrip(ht::request("POST", "/echo", "Transfer-Encoding: chunked\r\n") + "7d0\r\n");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 413 Content Too Large");
  expect_eof(c);
}

// A chunked body over the limit sent to a path that does not read it (its 405 is sent at the
// head): exactly one response for the one request, then the connection closes.
TEST_P(HttpEndpoints, DiscardedChunkedBodyOverMaxBody) {
  if (!start({"--max-body", "1000"})) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  std::string body(1500, 'x');
  ASSERT_TRUE(c.send(ht::post_chunked("/plaintext", body, {400})));
  ht::EofResult e = c.read_eof(10000);
  EXPECT_TRUE(e.eof) << e.error;
  ASSERT_TRUE(e.extra.starts_with("HTTP/1.1 405 ") || e.extra.starts_with("HTTP/1.1 413 "))
      << ht::printable(e.extra);
  EXPECT_EQ(e.extra.find("HTTP/1.1 ", 1), std::string::npos)
      << "more than one response: " << ht::printable(e.extra);
}

// ---------------------------------------------------------------- connection management

TEST_P(HttpEndpoints, Http10ClosesAfterResponse) {
  if (!start()) return;
  for (std::string path : {"/plaintext", "/json", "/nope"}) {
    SCOPED_TRACE(path);
    Client c(addr());
    ASSERT_TRUE(c.ok()) << c.error();
    ht::ReadResult r = c.roundtrip(ht::request("GET", path, "", "HTTP/1.0"));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.response.code == 200 || r.response.code == 404);
    EXPECT_NE(r.response.header("Connection").value_or(""), "keep-alive");
    expect_eof(c);
  }
  // HTTP/1.0 needs no Host.
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE(c.send("GET /plaintext HTTP/1.0\r\n\r\n"));
  ht::ReadResult r = c.read_response();
  ASSERT_TRUE(ht::is_200(r, "Hello, World!"));
  expect_eof(c);
}

TEST_P(HttpEndpoints, Http10KeepAliveStaysOpen) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    ht::ReadResult r =
        c.roundtrip(ht::request("GET", "/plaintext", "Connection: keep-alive\r\n", "HTTP/1.0"));
    ASSERT_TRUE(ht::is_200(r));
    EXPECT_EQ(r.response.header("Connection").value_or(""), "keep-alive");
    EXPECT_EQ(r.response.body, "Hello, World!");
  }
  // Echo with Content-Length keeps it open as well.
  ht::ReadResult r = c.roundtrip(
      ht::request("POST", "/echo", "Connection: keep-alive\r\nContent-Length: 3\r\n", "HTTP/1.0") +
      "abc");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.header("Connection").value_or(""), "keep-alive");
  EXPECT_EQ(r.response.body, "abc");
  // The last request without keep-alive: answered, then closed.
  r = c.roundtrip(ht::request("GET", "/json", "", "HTTP/1.0"));
  ASSERT_TRUE(ht::is_200(r));
  expect_eof(c);
}

TEST_P(HttpEndpoints, ConnectionCloseHonoured) {
  if (!start()) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r = c.roundtrip(ht::get("/plaintext", "Connection: close\r\n"));
  ASSERT_TRUE(ht::is_200(r));
  EXPECT_TRUE(r.response.says_close());
  expect_eof(c);
}

TEST_P(HttpEndpoints, IdleKeepAliveClosesQuietly) {
  if (!start({"--idle-timeout", "1"})) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r = c.roundtrip(ht::get("/plaintext"));
  ASSERT_TRUE(ht::is_200(r));
  // Nothing more is sent: the server ends the connection with EOF and not a single byte.
  ht::EofResult e = c.read_eof(15000);
  EXPECT_TRUE(e.eof) << e.error;
  EXPECT_EQ(e.extra, "") << ht::printable(e.extra);
}

// A request in flight when the drain starts is answered 503 "draining" with Connection: close.
TEST_P(HttpEndpoints, DrainAnswers503ToRequestInFlight) {
  if (!start({"--drain-timeout", "20"})) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r = c.roundtrip(ht::get("/health"));
  ASSERT_TRUE(ht::is_200(r));
  // Half a request is on the wire when SIGTERM comes.
  const std::string partial = "GET /health HTTP/1.1\r\nHost: test\r\n";
  ht::Metrics m0 = ht::scrape(addr());
  ASSERT_TRUE(c.send(partial));
  // The server has read the partial head before the drain begins.
  ASSERT_TRUE(ht::wait_server_read(addr(), m0, partial.size()));
  server_.child().signal(SIGTERM);
  ASSERT_TRUE(server_.child().wait_for_stderr(
      [](const std::string& l) { return l.find("draining") != std::string::npos; }, 10000));
  r = c.roundtrip("X-Last: 1\r\n\r\n");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_TRUE(r.response.body == "draining" || r.response.body == "draining\n")
      << ht::printable(r.response.body);
  EXPECT_TRUE(r.response.says_close());
  expect_eof(c);
  auto st = server_.child().wait(30000);
  ASSERT_TRUE(st.has_value()) << "server did not exit after the drain";
  EXPECT_EQ(rt::describe_status(*st), "exit 0");
}

// A keep-alive connection that is idle (between requests) when SIGTERM comes and then sends
// its next request: that request is answered 503 "draining" with Connection: close, rather
// than lost to a silent close.
TEST_P(HttpEndpoints, DrainAnswers503ToIdleKeepAliveConnection) {
  if (!start({"--drain-timeout", "20"})) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  ht::ReadResult r = c.roundtrip(ht::get("/health"));
  ASSERT_TRUE(ht::is_200(r));
  server_.child().signal(SIGTERM);
  ASSERT_TRUE(server_.child().wait_for_stderr(
      [](const std::string& l) { return l.find("draining") != std::string::npos; }, 10000));
  // The "draining" line is logged just before the server raises its draining flag: a request
  // racing that gap may still get a 200 (keep-alive). Ask again until the answer changes.
  for (int i = 0; i < 100; ++i) {
    r = c.roundtrip(ht::get("/health"));
    ASSERT_TRUE(r.ok) << "no answer to a request on a kept-alive connection during the drain: "
                      << r.error;
    if (r.response.code != 200) break;
    EXPECT_FALSE(r.response.says_close());
    rt::sleep_ms(10);
  }
  EXPECT_EQ(r.response.status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_TRUE(r.response.body == "draining" || r.response.body == "draining\n");
  EXPECT_TRUE(r.response.says_close());
  expect_eof(c);
  auto st = server_.child().wait(30000);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(rt::describe_status(*st), "exit 0");
}

// A client that keeps sending requests, one after another, through SIGTERM: every answer is
// a 200 keep-alive until one is 503 "draining" with Connection: close, and then the server
// closes. The connection is never cut with a request unanswered.
TEST_P(HttpEndpoints, DrainWithBusyKeepAliveClient) {
  if (!start({"--drain-timeout", "20"})) return;
  Client c(addr());
  ASSERT_TRUE(c.ok()) << c.error();
  std::thread killer([&] {
    rt::sleep_ms(300);
    server_.child().signal(SIGTERM);
  });
  size_t ok = 0, draining = 0;
  uint64_t deadline = rt::now_ms() + 30000;
  while (draining == 0 && rt::now_ms() < deadline) {
    if (!c.send(ht::get("/health"))) {
      ADD_FAILURE() << "request #" << ok << " could not be sent: " << c.error();
      break;
    }
    ht::ReadResult r = c.read_response(false, 10000);
    if (!r.ok) {
      ADD_FAILURE() << "request #" << ok << " unanswered: " << r.error;
      break;
    }
    if (r.response.code == 200) {
      EXPECT_FALSE(r.response.says_close());
      ++ok;
      continue;
    }
    EXPECT_EQ(r.response.status_line, "HTTP/1.1 503 Service Unavailable");
    EXPECT_TRUE(r.response.body == "draining" || r.response.body == "draining\n");
    EXPECT_TRUE(r.response.says_close());
    ++draining;
    expect_eof(c);
  }
  killer.join();
  RecordProperty("ok_responses", static_cast<int>(ok));
  EXPECT_GT(ok, 0u);
  EXPECT_EQ(draining, 1u);
  auto st = server_.child().wait(30000);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(rt::describe_status(*st), "exit 0");
}

INSTANTIATE_TEST_SUITE_P(Backends, HttpEndpoints, testing::ValuesIn(rt::kAllBackends),
                         rt::BackendName());

}  // namespace
