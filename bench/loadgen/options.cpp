// Flag parsing for reactord-bench: strict numbers, combinations checked, one-line errors.
#include "bench/loadgen/options.h"

#include "reactor/event_loop.h"
#include "reactor/number_text.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace reactord::bench {
namespace {

using reactor::parse_bytes;
using reactor::parse_double;
using reactor::parse_int;

// START:STEP:END, all positive, END >= START.
bool parse_ramp(std::string_view text, Options* o) {
  size_t a = text.find(':');
  if (a == std::string_view::npos) return false;
  size_t b = text.find(':', a + 1);
  if (b == std::string_view::npos) return false;
  int64_t s, st, e;
  if (!parse_int(text.substr(0, a), 1, 1000000, &s) ||
      !parse_int(text.substr(a + 1, b - a - 1), 1, 1000000, &st) ||
      !parse_int(text.substr(b + 1), 1, 1000000, &e) || e < s)
    return false;
  o->ramp = true;
  o->ramp_start = static_cast<int>(s);
  o->ramp_step = static_cast<int>(st);
  o->ramp_end = static_cast<int>(e);
  return true;
}

// http://HOST:PORT[/PATH] (HOST may be [IPV6]); the port defaults to 80.
bool parse_url(std::string_view url, Options* o, std::string* why) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    *why = "only http:// URLs are supported";
    return false;
  }
  url.remove_prefix(kScheme.size());
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  std::string target(authority);
  bool has_port = authority.starts_with('[') ? authority.find("]:") != std::string_view::npos
                                             : authority.find(':') != std::string_view::npos;
  if (!has_port) target += ":80";
  if (!reactor::SocketAddress::parse(target, &o->target, why)) return false;
  if (path.find_first_of(" \r\n\t") != std::string::npos) {
    *why = "the path has spaces";
    return false;
  }
  o->target_text = target;
  o->proto = Proto::kHttp;
  o->path = path;
  return true;
}

std::string mib_text(uint64_t bytes) {
  char b[32];
  snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return b;
}

}  // namespace

bool parse_duration(std::string_view text, double lo, double hi, double* out) {
  double scale = 1;
  if (text.ends_with("ms")) {
    scale = 0.001;
    text.remove_suffix(2);
  } else if (text.ends_with('s')) {
    text.remove_suffix(1);
  } else if (text.ends_with('m')) {
    scale = 60;
    text.remove_suffix(1);
  } else if (text.ends_with('h')) {
    scale = 3600;
    text.remove_suffix(1);
  }
  double v;
  if (!parse_double(text, 0, hi / scale, &v) || v * scale < lo) return false;
  *out = v * scale;
  return true;
}

std::string http_request_text(const Options& o, const std::string& host) {
  // Without extras, the same minimal request wrk sends, so the two tools load a server alike.
  std::string r = o.method + " " + o.path + " HTTP/1.1\r\nHost: " + host + "\r\n";
  for (const auto& h : o.headers) r += h + "\r\n";
  if (!o.body.empty() || o.method == "POST" || o.method == "PUT")
    r += "Content-Length: " + std::to_string(o.body.size()) + "\r\n";
  return r + "\r\n" + o.body;
}

uint64_t loop_buffer_bytes() {
  const reactor::LoopConfig lc;
  uint64_t pool = uint64_t{lc.max_buffers} * lc.buffer_size;
  return std::min(pool, lc.buffer_memory);
}

uint64_t queued_bytes_per_thread(const Options& o) {
  if (o.proto == Proto::kHttp) return 0;  // a GET of a few dozen bytes, whatever --size says
  int conns = o.ramp ? std::max(o.conns, o.ramp_end) : o.conns;
  uint64_t per_thread = static_cast<uint64_t>((conns + o.threads - 1) / o.threads);
  int depth = o.churn ? 1 : o.pipeline;
  return per_thread * static_cast<uint64_t>(depth) * o.size;
}

const char* proto_name(Proto p) {
  switch (p) {
    case Proto::kEcho:
      return "echo";
    case Proto::kUpper:
      return "upper";
    case Proto::kHttp:
      return "http";
  }
  return "?";
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kClosed:
      return "closed";
    case Mode::kOpen:
      return "open";
    case Mode::kChurn:
      return "churn";
  }
  return "?";
}

std::string usage_text() {
  return "usage: reactord-bench --target HOST:PORT|unix:/path --proto echo|upper|http [options]\n"
         "       reactord-bench [-c CONNS] [-d DURATION] [-t THREADS] [options] "
         "http://HOST:PORT/PATH\n"
         "\n"
         "Load generator on the reactord reactor: one event loop per thread.\n"
         "\n"
         "  --target ADDR          server address: HOST:PORT, [IPV6]:PORT or unix:/path\n"
         "  --proto P              echo | upper | http (default echo)\n"
         "  --path P               http: request path (default /)\n"
         "  --method M             http: request method (default GET)\n"
         "  --header 'N: V'        http: an extra header line; repeatable (-H)\n"
         "  --body TEXT            http: request body (Content-Length is added)\n"
         "  --body-file FILE       http: request body read from FILE\n"
         "  --conns N, -c N        concurrent connections over all threads (default 10)\n"
         "  --threads N, -t N      event loops / threads (default 1)\n"
         "  --duration D, -d D     run D (seconds, or 10s, 2m, 1h; default 10s; per step\n"
         "                         with --ramp)\n"
         "  --requests N           stop after exactly N requests completed\n"
         "  --size BYTES           echo/upper request size (default 64; k/m suffixes)\n"
         "  --pipeline D           requests in flight per connection (default 1)\n"
         "                         (--size x --pipeline x connections per thread must fit\n"
         "                         in half a client loop's buffers: " +
         mib_text(loop_buffer_bytes() / 2) +
         ")\n"
         "  --rate R               open loop: R requests/s over all connections; latency is\n"
         "                         measured from each request's intended send time\n"
         "  --connect-rate R       pace new connections at R/s over all threads\n"
         "  --churn                each connection: connect, one request, close; repeat\n"
         "  --ramp S:STEP:E        staircase over connection counts S, S+STEP, .. E\n"
         "  --json FILE            write every figure as JSON to FILE\n"
         "  --warmup S             run S seconds before measuring (default 0)\n"
         "  --connect-timeout S    a connect not done in S seconds fails (default 5)\n"
         "  --help                 this text\n"
         "\n"
         "Exit status: 0 clean, 1 errors/mismatches/failed connects/target unreachable,\n"
         "2 bad flags.\n";
}

ParseOutcome parse_options(int argc, char** argv, Options* out) {
  ParseOutcome r;
  auto fail = [&r](const std::string& msg) {
    r.run = false;
    r.exit_code = 2;
    r.message = "reactord-bench: " + msg + " (see --help)";
    return r;
  };
  bool have_target = false;
  bool http_only = false;  // --method, --header, --body or --body-file was given
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    if (arg.starts_with("--")) {
      size_t eq = arg.find('=');
      if (eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_value = true;
      }
    }
    std::string flag(arg);
    // wrk's spellings.
    if (flag == "-c") flag = "--conns";
    if (flag == "-d") flag = "--duration";
    if (flag == "-t") flag = "--threads";
    if (flag == "-H") flag = "--header";
    if (arg.starts_with("http://")) {
      std::string why;
      if (!parse_url(arg, out, &why)) return fail("URL " + std::string(arg) + ": " + why);
      have_target = true;
      continue;
    }
    auto need = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    auto bad = [&](const char* what) {
      return fail(flag + ": " + what + ", got '" + std::string(value) + "'");
    };
    auto no_value = [&]() { return has_value ? fail(flag + " takes no value") : r; };

    if (flag == "--help" || flag == "-h") {
      r.run = false;
      r.exit_code = 0;
      r.message = usage_text();
      return r;
    }
    if (flag == "--churn") {
      if (has_value) return no_value();
      out->churn = true;
      continue;
    }
    static constexpr std::string_view kValued[] = {
        "--target",       "--proto",    "--path", "--conns",    "--threads",
        "--duration",     "--requests", "--size", "--pipeline", "--rate",
        "--connect-rate", "--ramp",     "--json", "--warmup",   "--connect-timeout",
        "--method",       "--header",   "--body", "--body-file"};
    bool known = false;
    for (auto k : kValued) known = known || k == flag;
    if (!known) return fail("unknown flag " + flag);
    if (!need()) return fail(flag + " needs a value");

    int64_t n;
    uint64_t bytes;
    double d;
    if (flag == "--target") {
      std::string err;
      if (!reactor::SocketAddress::parse(value, &out->target, &err))
        return fail("--target: " + err);
      out->target_text = std::string(value);
      have_target = true;
    } else if (flag == "--proto") {
      if (value == "echo")
        out->proto = Proto::kEcho;
      else if (value == "upper")
        out->proto = Proto::kUpper;
      else if (value == "http")
        out->proto = Proto::kHttp;
      else
        return bad("expected echo, upper or http");
    } else if (flag == "--path") {
      if (value.empty() || value[0] != '/' ||
          value.find_first_of(" \r\n\t") != std::string_view::npos)
        return bad("expected an absolute path without spaces");
      out->path = std::string(value);
    } else if (flag == "--conns") {
      if (!parse_int(value, 1, 1000000, &n)) return bad("expected 1..1000000");
      out->conns = static_cast<int>(n);
    } else if (flag == "--threads") {
      if (!parse_int(value, 1, 1024, &n)) return bad("expected 1..1024");
      out->threads = static_cast<int>(n);
    } else if (flag == "--duration") {
      if (!parse_duration(value, 0.001, 86400 * 365, &d))
        return bad("expected a duration > 0 (seconds, or with s, m or h: 10s, 2m)");
      out->duration_s = d;
      out->duration_set = true;
    } else if (flag == "--requests") {
      if (!parse_int(value, 1, INT64_MAX, &n)) return bad("expected a count >= 1");
      out->requests = static_cast<uint64_t>(n);
    } else if (flag == "--size") {
      if (!parse_bytes(value, &bytes) || bytes == 0 || bytes > (64u << 20))
        return bad("expected 1 byte .. 64MiB");
      out->size = bytes;
    } else if (flag == "--pipeline") {
      if (!parse_int(value, 1, 4096, &n)) return bad("expected 1..4096");
      out->pipeline = static_cast<int>(n);
    } else if (flag == "--rate") {
      if (!parse_double(value, 1e-3, 1e9, &d)) return bad("expected requests/s > 0");
      out->rate = d;
    } else if (flag == "--connect-rate") {
      if (!parse_double(value, 1e-3, 1e9, &d)) return bad("expected connections/s > 0");
      out->connect_rate = d;
    } else if (flag == "--ramp") {
      if (!parse_ramp(value, out)) return bad("expected START:STEP:END, positive, END >= START");
    } else if (flag == "--json") {
      out->json_path = std::string(value);
    } else if (flag == "--warmup") {
      if (!parse_duration(value, 0, 86400, &d)) return bad("expected a duration >= 0");
      out->warmup_s = d;
    } else if (flag == "--method") {
      if (value.empty() ||
          value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos)
        return bad("expected an upper-case method such as GET or POST");
      out->method = std::string(value);
      http_only = true;
    } else if (flag == "--header") {
      size_t colon = value.find(':');
      if (colon == std::string_view::npos || colon == 0 ||
          value.find_first_of("\r\n") != std::string_view::npos)
        return bad("expected 'Name: value' on one line");
      out->headers.emplace_back(value);
      http_only = true;
    } else if (flag == "--body") {
      out->body = std::string(value);
      http_only = true;
    } else if (flag == "--body-file") {
      FILE* f = fopen(std::string(value).c_str(), "rb");
      if (!f) return fail("--body-file " + std::string(value) + ": " + strerror(errno));
      out->body.clear();
      char buf[65536];
      for (size_t got; (got = fread(buf, 1, sizeof buf, f)) > 0;) out->body.append(buf, got);
      fclose(f);
      http_only = true;
    } else if (flag == "--connect-timeout") {
      if (!parse_double(value, 0.001, 86400, &d)) return bad("expected seconds > 0");
      out->connect_timeout_s = d;
    }
  }
  if (!have_target) return fail("--target (or an http:// URL) is required");
  if (http_only && out->proto != Proto::kHttp)
    return fail("--method, --header, --body and --body-file are for --proto http");
  if (out->churn && out->pipeline > 1)
    return fail("--pipeline: a churn connection carries exactly one request");
  if (out->churn && out->rate > 0) return fail("--rate cannot be combined with --churn");
  if (out->requests > 0 && out->ramp) return fail("--requests cannot be combined with --ramp");
  if (out->requests > 0 && out->warmup_s > 0)
    return fail("--warmup cannot be combined with --requests (the server would see more)");
  const uint64_t queued = queued_bytes_per_thread(*out);
  const uint64_t room = loop_buffer_bytes() / 2;
  if (queued > room) {
    return fail(
        "--size x --pipeline x connections per thread (--conns / --threads) = " + mib_text(queued) +
        " of requests in flight per thread, more than the " + mib_text(room) +
        " a client loop can hold (half its buffer budget); lower --size, --pipeline or "
        "--conns, or raise --threads");
  }
  if (out->ramp) out->conns = out->ramp_start;
  return r;
}

}  // namespace reactord::bench
