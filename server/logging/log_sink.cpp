// The stderr sink: one stack buffer and one write(2) per line, so threads never interleave.
#include "server/logging/log_sink.h"

#include <unistd.h>

#include <cstdlib>

namespace reactord {
namespace {

LogStyle g_style;

void write_line(reactor::LogLevel level, std::string_view message, void* context) {
  const auto* style = static_cast<const LogStyle*>(context);
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  // The library cuts messages at 1 KiB; JSON escaping may grow one up to 6x in the worst case,
  // which the formatter cuts cleanly.
  char line[2048];
  size_t n = format_log_line(*style, level, message, now, line, sizeof line);
  ssize_t ignored = ::write(STDERR_FILENO, line, n);
  (void)ignored;
}

}  // namespace

LogStyle stderr_log_style(LogFormat format) {
  LogStyle style;
  style.format = format;
  style.journal = journal_stream_matches(getenv("JOURNAL_STREAM"), STDERR_FILENO);
  return style;
}

void install_log_sink(const LogStyle& style) {
  reactor::set_log_sink(nullptr, nullptr);
  g_style = style;
  reactor::set_log_sink(write_line, &g_style);
}

}  // namespace reactord
