// Minimal leveled logging to stderr: one line per event, "reactord: LEVEL: message".
#pragma once

#include <cstdarg>
#include <string_view>

namespace reactor {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Thread-safe: the level is an atomic and each line is written with one write(2).
void set_log_level(LogLevel level);
LogLevel log_level();
bool parse_log_level(std::string_view text, LogLevel* out);
void set_log_program(const char* name);

void log_line(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define REACTOR_LOG(level, ...)                                              \
  do {                                                                       \
    if (static_cast<int>(level) >= static_cast<int>(::reactor::log_level())) \
      ::reactor::log_line(level, __VA_ARGS__);                               \
  } while (0)
#define LOG_DEBUG(...) REACTOR_LOG(::reactor::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) REACTOR_LOG(::reactor::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) REACTOR_LOG(::reactor::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) REACTOR_LOG(::reactor::LogLevel::kError, __VA_ARGS__)

}  // namespace reactor
