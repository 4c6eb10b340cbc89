// Report formatting: percentiles table, connect outcomes, HTTP statuses, JSON figures.
#include "bench/loadgen/report.h"

#include <fstream>

#include "bench/harness/json_writer.h"
#include "bench/harness/machine_info.h"

namespace reactord::bench {
namespace {

constexpr double kPercentiles[] = {50, 90, 99, 99.9, 99.99};

double rate(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

// Microseconds with a unit that keeps 3-4 significant digits: 41.2us, 3.10ms, 1.20s.
std::string fmt_us(double us) {
  char buf[32];
  if (us < 1000)
    snprintf(buf, sizeof buf, "%.1fus", us);
  else if (us < 1e6)
    snprintf(buf, sizeof buf, "%.2fms", us / 1e3);
  else
    snprintf(buf, sizeof buf, "%.2fs", us / 1e6);
  return buf;
}

std::string fmt_bytes(double b) {
  char buf[32];
  if (b < 1e3)
    snprintf(buf, sizeof buf, "%.0f B", b);
  else if (b < 1e6)
    snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else if (b < 1e9)
    snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else
    snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  return buf;
}

void print_latency_row(FILE* out, const char* label, const LatencyHistogram& h) {
  fprintf(out, "    %-12s", label);
  for (double p : kPercentiles) fprintf(out, " %9s", fmt_us(h.percentile_us(p)).c_str());
  fprintf(out, " %9s\n", fmt_us(static_cast<double>(h.max()) / 1e3).c_str());
}

void write_percentiles(JsonWriter& w, const LatencyHistogram& h) {
  h.write_json_us(w);
}

void write_figures(JsonWriter& w, const Options& o, const StepResult& r) {
  const RunStats& s = r.stats;
  w.member("conns", r.conns);
  w.member("threads", r.threads);
  w.member("requests", s.requests);
  w.member("duration_s", r.duration_s);
  w.member("rps", rate(s.requests, r.duration_s));
  w.member("errors", s.errors);
  w.member("mismatches", s.mismatches);
  w.key("error_kinds").begin_object();
  w.member("reset", s.errors_reset);
  w.member("closed", s.errors_closed);
  w.member("protocol", s.errors_protocol);
  w.end_object();
  w.member("bytes_sent", s.bytes_sent);
  w.member("bytes_received", s.bytes_received);
  w.key("latency_us");
  write_percentiles(w, s.latency);
  w.key("latency_uncorrected_us");
  write_percentiles(w, s.latency_uncorrected);
  w.member("connects", s.connects);
  w.member("connects_per_s", rate(s.connects, r.duration_s));
  if (o.mode() == Mode::kOpen) {
    w.key("send_lag_us");
    write_percentiles(w, s.send_lag);
  }
  w.key("connect_latency_us");
  write_percentiles(w, s.connect_latency);
  w.key("connect_failures").begin_object();
  w.member("refused", s.connect_refused);
  w.member("timeout", s.connect_timeout);
  w.member("reset", s.connect_reset);
  w.member("other", s.connect_other);
  w.end_object();
  w.key("status_codes").begin_object();
  if (o.proto == Proto::kHttp) {
    for (size_t code = 100; code < s.status.size(); ++code) {
      if (s.status[code]) w.member(std::to_string(code), s.status[code]);
    }
    if (s.status_other) w.member("other", s.status_other);
  }
  w.end_object();
  w.key("status_classes").begin_object();
  if (o.proto == Proto::kHttp) {
    w.member("2xx", s.status_at_least(200) - s.status_at_least(300));
    w.member("3xx", s.status_at_least(300) - s.status_at_least(400));
    w.member("4xx", s.status_at_least(400) - s.status_at_least(500));
    w.member("5xx", s.status_at_least(500));
  }
  w.end_object();
  w.member("backlog_dropped", s.backlog_dropped);
  w.key("client_cpu").begin_object();
  w.member("user_s", r.cpu_user_s);
  w.member("sys_s", r.cpu_sys_s);
  w.member("wall_s", r.wall_s);
  w.end_object();
  w.member("interrupted", r.interrupted);
  w.member("unreachable", r.unreachable);
}

}  // namespace

void print_summary(FILE* out, const Options& o, const StepResult& r) {
  const RunStats& s = r.stats;
  const Mode mode = o.mode();
  fprintf(out, "reactord-bench %s %s%s, %s", proto_name(o.proto), o.target_text.c_str(),
          o.proto == Proto::kHttp ? o.path.c_str() : "",
          mode == Mode::kChurn  ? "churn"
          : mode == Mode::kOpen ? "open loop"
                                : "closed loop");
  if (mode == Mode::kOpen) fprintf(out, " at %.0f req/s", o.rate);
  fprintf(out, ", %d conns", r.conns);
  if (mode != Mode::kChurn) fprintf(out, " x pipeline %d", o.pipeline);
  fprintf(out, ", %d thread%s", r.threads, r.threads == 1 ? "" : "s");
  if (o.proto != Proto::kHttp) fprintf(out, ", %zu B requests", o.size);
  fprintf(out, "%s\n\n", r.interrupted ? "  (interrupted)" : "");

  fprintf(out, "  requests    %llu in %.2f s = %.1f req/s\n",
          static_cast<unsigned long long>(s.requests), r.duration_s,
          rate(s.requests, r.duration_s));
  fprintf(out, "  transfer    sent %s (%s/s), received %s (%s/s)\n",
          fmt_bytes(static_cast<double>(s.bytes_sent)).c_str(),
          fmt_bytes(rate(s.bytes_sent, r.duration_s)).c_str(),
          fmt_bytes(static_cast<double>(s.bytes_received)).c_str(),
          fmt_bytes(rate(s.bytes_received, r.duration_s)).c_str());
  fprintf(out, "  errors      %llu   mismatches %llu", static_cast<unsigned long long>(s.errors),
          static_cast<unsigned long long>(s.mismatches));
  if (s.errors)
    fprintf(out, "   (reset %llu, closed by server %llu, protocol %llu)",
            static_cast<unsigned long long>(s.errors_reset),
            static_cast<unsigned long long>(s.errors_closed),
            static_cast<unsigned long long>(s.errors_protocol));
  if (!r.error_sample.empty()) fprintf(out, "   (first: %s)", r.error_sample.c_str());
  fprintf(out, "\n");
  if (s.backlog_dropped)
    fprintf(out, "  dropped     %llu scheduled requests (backlog cap: the server is far behind)\n",
            static_cast<unsigned long long>(s.backlog_dropped));

  fprintf(out, "\n    %-12s %9s %9s %9s %9s %9s %9s\n", "latency", "p50", "p90", "p99", "p99.9",
          "p99.99", "max");
  if (mode == Mode::kOpen) {
    print_latency_row(out, "corrected", s.latency);
    print_latency_row(out, "uncorrected", s.latency_uncorrected);
    print_latency_row(out, "send lag", s.send_lag);
  } else {
    print_latency_row(out, "request", s.latency);  // no schedule: both figures are the same
  }
  print_latency_row(out, "connect", s.connect_latency);

  fprintf(out,
          "\n  connects    %llu (%.1f/s)   failed: refused %llu, timeout %llu, reset %llu, "
          "other %llu\n",
          static_cast<unsigned long long>(s.connects), rate(s.connects, r.duration_s),
          static_cast<unsigned long long>(s.connect_refused),
          static_cast<unsigned long long>(s.connect_timeout),
          static_cast<unsigned long long>(s.connect_reset),
          static_cast<unsigned long long>(s.connect_other));
  if (o.proto == Proto::kHttp) {
    fprintf(out, "  http status");
    for (size_t code = 100; code < s.status.size(); ++code) {
      if (s.status[code])
        fprintf(out, " %zu: %llu", code, static_cast<unsigned long long>(s.status[code]));
    }
    uint64_t c2 = s.status_at_least(200) - s.status_at_least(300);
    uint64_t c3 = s.status_at_least(300) - s.status_at_least(400);
    uint64_t c4 = s.status_at_least(400) - s.status_at_least(500);
    uint64_t c5 = s.status_at_least(500);
    fprintf(out, "   (2xx %llu, 3xx %llu, 4xx %llu, 5xx %llu)\n",
            static_cast<unsigned long long>(c2), static_cast<unsigned long long>(c3),
            static_cast<unsigned long long>(c4), static_cast<unsigned long long>(c5));
  }
  double wall = r.wall_s > 0 ? r.wall_s : 1;
  fprintf(out, "  client cpu  %.1f%% of one core (user %.1f%%, sys %.1f%%)\n",
          100 * (r.cpu_user_s + r.cpu_sys_s) / wall, 100 * r.cpu_user_s / wall,
          100 * r.cpu_sys_s / wall);
}

void print_ramp_header(FILE* out, const Options& o) {
  fprintf(out, "reactord-bench %s %s ramp %d:%d:%d, %s loop, %.1f s per step\n\n",
          proto_name(o.proto), o.target_text.c_str(), o.ramp_start, o.ramp_step, o.ramp_end,
          mode_name(o.mode()), o.duration_s);
  fprintf(out, "  %7s %12s %9s %9s %9s %9s %8s %8s\n", "conns", "req/s", "p50", "p99", "p99.9",
          "max", "errors", "connfail");
}

void print_ramp_row(FILE* out, const StepResult& r) {
  const RunStats& s = r.stats;
  fprintf(out, "  %7d %12.1f %9s %9s %9s %9s %8llu %8llu\n", r.conns,
          rate(s.requests, r.duration_s), fmt_us(s.latency.percentile_us(50)).c_str(),
          fmt_us(s.latency.percentile_us(99)).c_str(),
          fmt_us(s.latency.percentile_us(99.9)).c_str(),
          fmt_us(static_cast<double>(s.latency.max()) / 1e3).c_str(),
          static_cast<unsigned long long>(s.errors + s.mismatches),
          static_cast<unsigned long long>(s.connect_failures()));
  fflush(out);
}

bool write_json_report(const std::string& path, const Options& o,
                       const std::vector<StepResult>& steps, std::string* error) {
  std::ofstream f(path);
  if (!f) {
    *error = "cannot write " + path;
    return false;
  }
  JsonWriter w(f, 2);
  w.begin_object();
  w.key("params").begin_object();
  w.member("target", o.target_text);
  w.member("proto", proto_name(o.proto));
  w.member("mode", mode_name(o.mode()));
  w.member("path", o.path);
  w.member("conns", o.conns);
  w.member("threads", o.threads);
  w.member("duration_s", o.duration_s);
  w.member("requests", o.requests);
  w.member("size", static_cast<uint64_t>(o.size));
  w.member("pipeline", o.pipeline);
  w.member("rate", o.rate);
  w.member("connect_rate", o.connect_rate);
  w.member("churn", o.churn);
  if (o.ramp)
    w.member("ramp", std::to_string(o.ramp_start) + ":" + std::to_string(o.ramp_step) + ":" +
                         std::to_string(o.ramp_end));
  else
    w.key("ramp").null_value();
  w.member("warmup_s", o.warmup_s);
  w.member("connect_timeout_s", o.connect_timeout_s);
  w.end_object();
  w.key("machine");
  write_json(w, detect_machine());
  if (o.ramp) {
    uint64_t requests = 0, errors = 0, mismatches = 0;
    for (const StepResult& r : steps) {
      requests += r.stats.requests;
      errors += r.stats.errors;
      mismatches += r.stats.mismatches;
    }
    w.member("requests", requests);
    w.member("errors", errors);
    w.member("mismatches", mismatches);
    w.key("steps").begin_array();
    for (const StepResult& r : steps) {
      w.begin_object();
      write_figures(w, o, r);
      w.end_object();
    }
    w.end_array();
  } else if (!steps.empty()) {
    write_figures(w, o, steps.front());
  }
  w.end_object();
  f.flush();
  if (!f) {
    *error = "error writing " + path;
    return false;
  }
  return true;
}

}  // namespace reactord::bench
