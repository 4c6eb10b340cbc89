// How reactord formats its log lines: the level on every line, the journald priority prefix
// when stderr is the journal's stream, otherwise an RFC 3339 timestamp; text or JSON.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstddef>
#include <string_view>

#include "reactor/log.h"

namespace reactord {

enum class LogFormat { kText, kJson };
bool parse_log_format(std::string_view text, LogFormat* out);
const char* log_format_name(LogFormat format);

struct LogStyle {
  LogFormat format = LogFormat::kText;
  // stderr is journald's stream: "<N>" leads each line (sd-daemon(3)) and journald stamps the
  // time itself, so a text line carries none.
  bool journal = false;
  const char* program = "reactord";
};

// sd-daemon(3) priority for a level: debug 7, info 6, warn 4, error 3.
int journal_priority(reactor::LogLevel level);

// "2026-11-30T23:50:36.123Z": RFC 3339 in UTC with milliseconds. `out` holds at least 25 bytes;
// returns the length (24).
size_t format_rfc3339_ms(const timespec& when, char* out);

// One line, newline included, into out[0..capacity); returns its length. A message too long
// for the buffer is cut (a JSON line stays valid JSON). Never allocates: the sink calls it on
// every logging thread.
//   text:            2026-11-30T23:50:36.123Z reactord: warn: message
//   text, journal:   <4>reactord: warn: message
//   json: {"time":"2026-11-30T23:50:36.123Z","level":"warn","program":"reactord","message":"..."}
//   json, journal:   <4>{"time":...} (the same object after the prefix)
size_t format_log_line(const LogStyle& style, reactor::LogLevel level, std::string_view message,
                       const timespec& when, char* out, size_t capacity);

// JOURNAL_STREAM's "DEVICE:INODE" names the file open as `fd` (the rule of sd-daemon(3) and
// systemd.exec(5): a child whose stderr was redirected must not speak journal to it).
bool journal_stream_matches(const char* journal_stream, int fd);

}  // namespace reactord
