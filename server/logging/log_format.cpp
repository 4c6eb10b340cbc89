// Log line formatting: fixed-size buffers and no allocation, since every logging thread runs it.
#include "server/logging/log_format.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace reactord {
namespace {

// Appends within [pos, cap - 1): the last byte is kept for the newline.
struct LineWriter {
  char* out;
  size_t cap;
  size_t pos = 0;
  size_t room() const { return cap - 1 - pos; }
  void put(std::string_view s) {
    size_t n = s.size() < room() ? s.size() : room();
    memcpy(out + pos, s.data(), n);
    pos += n;
  }
  // JSON string body. Stops before an escape that would not fit whole, and keeps `reserve`
  // bytes for the closing characters so the line stays well-formed when cut.
  void put_json_escaped(std::string_view s, size_t reserve) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : s) {
      char esc[6];
      size_t n = 0;
      if (c == '"' || c == '\\') {
        esc[n++] = '\\';
        esc[n++] = static_cast<char>(c);
      } else if (c < 0x20) {
        const char* named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : nullptr;
        if (named) {
          esc[n++] = named[0];
          esc[n++] = named[1];
        } else {
          memcpy(esc, "\\u00", 4);
          esc[4] = kHex[c >> 4];
          esc[5] = kHex[c & 15];
          n = 6;
        }
      } else {
        esc[n++] = static_cast<char>(c);
      }
      if (n + reserve > room()) return;
      put(std::string_view(esc, n));
    }
  }
};

}  // namespace

bool parse_log_format(std::string_view text, LogFormat* out) {
  if (text == "text") {
    *out = LogFormat::kText;
  } else if (text == "json") {
    *out = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

const char* log_format_name(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

int journal_priority(reactor::LogLevel level) {
  switch (level) {
    case reactor::LogLevel::kDebug:
      return 7;
    case reactor::LogLevel::kInfo:
      return 6;
    case reactor::LogLevel::kWarn:
      return 4;
    case reactor::LogLevel::kError:
      return 3;
  }
  return 6;
}

size_t format_rfc3339_ms(const timespec& when, char* out) {
  struct tm t {};
  gmtime_r(&when.tv_sec, &t);
  int ms = static_cast<int>(when.tv_nsec / 1000000);
  // The year is 4 digits until 9999; snprintf's bound keeps it safe regardless.
  int n = snprintf(out, 25, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1,
                   t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms);
  return n < 0 ? 0 : (n > 24 ? 24 : static_cast<size_t>(n));
}

size_t format_log_line(const LogStyle& style, reactor::LogLevel level, std::string_view message,
                       const timespec& when, char* out, size_t capacity) {
  if (capacity == 0) return 0;
  LineWriter w{out, capacity};
  if (style.journal) {
    char prio[4] = {'<', static_cast<char>('0' + journal_priority(level)), '>', 0};
    w.put(prio);
  }
  char stamp[25];
  std::string_view time(stamp, format_rfc3339_ms(when, stamp));
  std::string_view level_name = reactor::log_level_name(level);
  if (style.format == LogFormat::kJson) {
    w.put("{\"time\":\"");
    w.put(time);
    w.put("\",\"level\":\"");
    w.put(level_name);
    w.put("\",\"program\":\"");
    w.put_json_escaped(style.program, 32);
    w.put("\",\"message\":\"");
    w.put_json_escaped(message, 2);
    w.put("\"}");
  } else {
    if (!style.journal) {
      w.put(time);
      w.put(" ");
    }
    w.put(style.program);
    w.put(": ");
    w.put(level_name);
    w.put(": ");
    w.put(message);
  }
  out[w.pos++] = '\n';
  return w.pos;
}

bool journal_stream_matches(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  std::string_view s(journal_stream);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long dev = 0, ino = 0;
  auto [p1, e1] = std::from_chars(s.data(), s.data() + colon, dev);
  auto [p2, e2] = std::from_chars(s.data() + colon + 1, s.data() + s.size(), ino);
  if (e1 != std::errc() || p1 != s.data() + colon || e2 != std::errc() || p2 != s.data() + s.size())
    return false;
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace reactord
