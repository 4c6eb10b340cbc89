// The HTTP access log (--access-log PATH|-): one line per response, written by each loop
// through its own buffer and descriptor, so no request allocates and no loop waits for another.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "reactor/timer_wheel.h"

namespace reactord {

// What one line says. Views are read during append() only.
struct AccessRecord {
  std::string_view client;   // "192.0.2.7:41234" (the PROXY source when there is one)
  std::string_view request;  // "GET /plaintext" as sent, or empty when no head was parsed
  uint16_t status = 0;
  uint64_t bytes = 0;  // response bytes queued: status line, headers and body
  uint64_t duration_us = 0;
};

// "2026-11-30T23:50:36.123Z 192.0.2.7:41234 GET /plaintext 200 142 57\n": time (RFC 3339, UTC,
// ms), client, method, target, status, bytes, duration in microseconds. A missing request is
// "- -"; bytes outside 0x21..0x7e in it are written as \xHH so a line stays one line of
// fields. Returns the length written into out[0..capacity) (a too-long target is cut).
size_t format_access_line(const AccessRecord& r, const timespec& wall, char* out, size_t capacity);

// Where the lines go, shared by the loops. Thread-safe: open() before the loops start; the
// main thread calls reopen() (SIGUSR1), each loop notices at its next flush.
class AccessLogFile {
 public:
  // "-" is stdout; anything else a file opened for appending (created 0640). The file is
  // opened once here so that a bad path is a start-up error with errno's words in *error.
  bool open(const std::string& path, std::string* error);
  bool to_stdout() const { return path_ == "-"; }
  const std::string& path() const { return path_; }
  // A descriptor of its own for one loop (stdout: a dup of 1), or -1 with *error set.
  int open_descriptor(std::string* error) const;
  // logrotate's postrotate: every loop reopens the path before its next write.
  void reopen() { generation_.fetch_add(1, std::memory_order_release); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  std::string path_;
  std::atomic<uint64_t> generation_{0};
};

// Thread affinity: one per loop, used on that loop's thread only (and destroyed after it).
// Lines collect in a 64 KiB buffer, written when it is nearly full or kFlushMs after the first
// unwritten line, in whole lines (at most PIPE_BUF bytes per write to a pipe, so lines from
// several loops never interleave there).
class AccessLogWriter {
 public:
  static constexpr size_t kBufferBytes = 64 << 10;
  static constexpr size_t kMaxLine = 2048;
  static constexpr uint64_t kFlushMs = 200;

  AccessLogWriter(const AccessLogFile& file, reactor::TimerWheel& timers);
  ~AccessLogWriter();  // writes what is left
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  void append(const AccessRecord& r);
  void flush();
  uint64_t write_errors() const { return write_errors_; }

 private:
  struct FlushTimer : reactor::TimerNode {
    AccessLogWriter* writer = nullptr;
  };
  static void on_flush_timer(reactor::TimerNode* node);
  void write_out(const char* p, size_t n);

  const AccessLogFile& file_;
  reactor::TimerWheel& timers_;
  FlushTimer timer_;
  std::unique_ptr<char[]> buf_;
  size_t used_ = 0;
  int fd_ = -1;
  uint64_t generation_ = 0;
  bool pipe_ = false;  // writes of at most PIPE_BUF bytes
  uint64_t write_errors_ = 0;
};

}  // namespace reactord
