// Leveled stderr logging; each line goes out in a single write so threads never interleave.
#include "reactor/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

namespace reactor {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* g_program = nullptr;
LogSink g_sink = nullptr;
void* g_sink_context = nullptr;
}  // namespace

const char* log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

void set_log_level(LogLevel level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}
LogLevel log_level() {
  return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed));
}
void set_log_program(const char* name) {
  g_program = name;
}
void set_log_sink(LogSink sink, void* context) {
  g_sink_context = context;
  g_sink = sink;
}

bool parse_log_level(std::string_view text, LogLevel* out) {
  static constexpr std::pair<std::string_view, LogLevel> kNames[] = {{"debug", LogLevel::kDebug},
                                                                     {"info", LogLevel::kInfo},
                                                                     {"warn", LogLevel::kWarn},
                                                                     {"warning", LogLevel::kWarn},
                                                                     {"error", LogLevel::kError}};
  for (const auto& [name, level] : kNames) {
    if (text == name) {
      *out = level;
      return true;
    }
  }
  return false;
}

void log_line(LogLevel level, const char* fmt, ...) {
  char line[1024];
  int n = 0;
  if (g_sink == nullptr) {
    const char* program = g_program != nullptr ? g_program : program_invocation_short_name;
    n = snprintf(line, sizeof line, "%s: %s: ", program, log_level_name(level));
  }
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  size_t len =
      n + (m < 0 ? 0 : (static_cast<size_t>(m) < sizeof line - n - 1 ? m : sizeof line - n - 2));
  if (g_sink != nullptr) {
    g_sink(level, std::string_view(line, len), g_sink_context);
    return;
  }
  line[len++] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line, len);
  (void)ignored;
}

}  // namespace reactor
