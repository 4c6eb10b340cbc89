// reactord's log line shapes, exactly: text and JSON, with and without the journal prefix, and
// the JOURNAL_STREAM match that chooses between them.
#include "server/logging/log_format.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace reactord {
namespace {

using reactor::LogLevel;

// 2026-11-30T23:50:36.123456789Z
constexpr timespec kWhen{1796082636, 123456789};

std::string line(LogFormat format, bool journal, LogLevel level, std::string_view message,
                 size_t capacity = 4096) {
  LogStyle style;
  style.format = format;
  style.journal = journal;
  std::string out(capacity, '\0');
  out.resize(format_log_line(style, level, message, kWhen, out.data(), out.size()));
  return out;
}

TEST(LogFormat, Rfc3339WithMilliseconds) {
  char buf[25];
  EXPECT_EQ(std::string(buf, format_rfc3339_ms(kWhen, buf)), "2026-11-30T23:50:36.123Z");
  EXPECT_EQ(std::string(buf, format_rfc3339_ms(timespec{0, 999999999}, buf)),
            "1970-01-01T00:00:00.999Z");
}

TEST(LogFormat, TextLineStartsWithTheTime) {
  EXPECT_EQ(line(LogFormat::kText, false, LogLevel::kWarn, "backlog capped"),
            "2026-11-30T23:50:36.123Z reactord: warn: backlog capped\n");
  EXPECT_EQ(line(LogFormat::kText, false, LogLevel::kDebug, ""),
            "2026-11-30T23:50:36.123Z reactord: debug: \n");
}

TEST(LogFormat, JournalLineStartsWithThePriority) {
  EXPECT_EQ(line(LogFormat::kText, true, LogLevel::kDebug, "m"), "<7>reactord: debug: m\n");
  EXPECT_EQ(line(LogFormat::kText, true, LogLevel::kInfo, "ready"), "<6>reactord: info: ready\n");
  EXPECT_EQ(line(LogFormat::kText, true, LogLevel::kWarn, "m"), "<4>reactord: warn: m\n");
  EXPECT_EQ(line(LogFormat::kText, true, LogLevel::kError, "m"), "<3>reactord: error: m\n");
}

TEST(LogFormat, JsonLine) {
  EXPECT_EQ(line(LogFormat::kJson, false, LogLevel::kInfo, "ready"),
            "{\"time\":\"2026-11-30T23:50:36.123Z\",\"level\":\"info\",\"program\":\"reactord\","
            "\"message\":\"ready\"}\n");
  EXPECT_EQ(line(LogFormat::kJson, true, LogLevel::kError, "x"),
            "<3>{\"time\":\"2026-11-30T23:50:36.123Z\",\"level\":\"error\",\"program\":"
            "\"reactord\",\"message\":\"x\"}\n");
}

TEST(LogFormat, JsonEscapesQuotesBackslashesAndControls) {
  std::string l = line(LogFormat::kJson, false, LogLevel::kInfo, "a\"b\\c\nd\x01");
  EXPECT_NE(l.find("\"message\":\"a\\\"b\\\\c\\nd\\u0001\"}\n"), std::string::npos) << l;
}

// A message longer than the buffer is cut, and the JSON object still closes.
TEST(LogFormat, CutLinesStayWellFormed) {
  std::string big(500, '"');
  std::string l = line(LogFormat::kJson, false, LogLevel::kInfo, big, 120);
  // Whole escapes only, so the cut may leave one byte of the buffer unused.
  ASSERT_GE(l.size(), 119u) << l;
  ASSERT_LE(l.size(), 120u) << l;
  EXPECT_EQ(l.substr(l.size() - 3), "\"}\n") << l;
  // The cut never splits an escape: the message is whole \" pairs.
  size_t start = l.find("\"message\":\"") + 11;
  std::string body = l.substr(start, l.size() - 3 - start);
  EXPECT_EQ(body.size() % 2, 0u) << body;
  for (size_t i = 0; i < body.size(); i += 2) EXPECT_EQ(body.substr(i, 2), "\\\"") << i;

  std::string t = line(LogFormat::kText, false, LogLevel::kInfo, std::string(500, 'x'), 64);
  EXPECT_EQ(t.size(), 64u);
  EXPECT_EQ(t.back(), '\n');
}

TEST(LogFormat, ParsesItsNames) {
  LogFormat f = LogFormat::kText;
  EXPECT_TRUE(parse_log_format("json", &f));
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_TRUE(parse_log_format("text", &f));
  EXPECT_EQ(f, LogFormat::kText);
  EXPECT_FALSE(parse_log_format("xml", &f));
}

TEST(JournalStream, MatchesOnlyTheSameFile) {
  char path[] = "/tmp/reactord-journal-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  std::string same = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_TRUE(journal_stream_matches(same.c_str(), fd));
  EXPECT_FALSE(journal_stream_matches(other.c_str(), fd));
  EXPECT_FALSE(journal_stream_matches(nullptr, fd));
  EXPECT_FALSE(journal_stream_matches("", fd));
  EXPECT_FALSE(journal_stream_matches((same + "x").c_str(), fd));
  EXPECT_FALSE(journal_stream_matches(std::to_string(st.st_dev).c_str(), fd));
  close(fd);
}

}  // namespace
}  // namespace reactord
