// Minimal leveled logging: one line per event, by default "PROGRAM: LEVEL: message" on stderr.
// An embedder names the program (set_log_program) or takes the lines itself (set_log_sink).
#pragma once

#include <cstdarg>
#include <string_view>

namespace reactor {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Thread-safe: the level is an atomic and each line is written with one write(2).
void set_log_level(LogLevel level);
LogLevel log_level();
bool parse_log_level(std::string_view text, LogLevel* out);
// The prefix of stderr lines; defaults to the executable's name (program_invocation_short_name).
// `name` must outlive the logging (a string literal or argv[0]).
void set_log_program(const char* name);
const char* log_level_name(LogLevel level);

// Where lines go instead of stderr: `message` is the formatted text without program, level or
// newline. Called on whichever thread logged, possibly several at once: the sink must be
// thread-safe. nullptr restores stderr. Set it before loops start.
using LogSink = void (*)(LogLevel level, std::string_view message, void* context);
void set_log_sink(LogSink sink, void* context);

void log_line(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define REACTOR_LOG_AT(level, ...)                                           \
  do {                                                                       \
    if (static_cast<int>(level) >= static_cast<int>(::reactor::log_level())) \
      ::reactor::log_line(level, __VA_ARGS__);                               \
  } while (0)
#define REACTOR_LOG_DEBUG(...) REACTOR_LOG_AT(::reactor::LogLevel::kDebug, __VA_ARGS__)
#define REACTOR_LOG_INFO(...) REACTOR_LOG_AT(::reactor::LogLevel::kInfo, __VA_ARGS__)
#define REACTOR_LOG_WARN(...) REACTOR_LOG_AT(::reactor::LogLevel::kWarn, __VA_ARGS__)
#define REACTOR_LOG_ERROR(...) REACTOR_LOG_AT(::reactor::LogLevel::kError, __VA_ARGS__)

}  // namespace reactor
