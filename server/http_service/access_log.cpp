// Access log lines: formatted by hand into a per-loop buffer (no snprintf, no allocation), the
// RFC 3339 second prefix computed once per second.
#include "server/http_service/access_log.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "reactor/log.h"
#include "server/logging/log_format.h"

namespace reactord {
namespace {

struct Out {
  char* p;
  char* end;  // one byte is kept back for the newline
  void put(std::string_view s) {
    size_t n = s.size() < static_cast<size_t>(end - p) ? s.size() : static_cast<size_t>(end - p);
    memcpy(p, s.data(), n);
    p += n;
  }
  void put_char(char c) {
    if (p < end) *p++ = c;
  }
  void put_uint(uint64_t v) {
    char tmp[20];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (n > 0) put_char(tmp[--n]);
  }
  void put_field(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : s) {
      if (c > 0x20 && c < 0x7f && c != '\\') {
        put_char(static_cast<char>(c));
      } else {
        if (end - p < 4) return;
        *p++ = '\\';
        *p++ = 'x';
        *p++ = kHex[c >> 4];
        *p++ = kHex[c & 15];
      }
    }
  }
};

// The RFC 3339 text of the current second, reused until the second changes.
struct SecondCache {
  time_t sec = -1;
  char text[25];  // "2026-11-30T23:50:36." (20 bytes)
};
thread_local SecondCache t_second;

}  // namespace

size_t format_access_line(const AccessRecord& r, const timespec& wall, char* out, size_t capacity) {
  if (capacity < 2) return 0;
  if (t_second.sec != wall.tv_sec) {
    format_rfc3339_ms(timespec{wall.tv_sec, 0}, t_second.text);
    t_second.sec = wall.tv_sec;
  }
  Out o{out, out + capacity - 1};
  o.put(std::string_view(t_second.text, 20));
  int ms = static_cast<int>(wall.tv_nsec / 1000000);
  o.put_char(static_cast<char>('0' + ms / 100));
  o.put_char(static_cast<char>('0' + ms / 10 % 10));
  o.put_char(static_cast<char>('0' + ms % 10));
  o.put("Z ");
  o.put(r.client.empty() ? std::string_view("-") : r.client);
  o.put_char(' ');
  if (r.request.empty()) {
    o.put("- -");
  } else {
    size_t sp = r.request.find(' ');
    o.put_field(r.request.substr(0, sp));
    o.put_char(' ');
    o.put_field(sp == std::string_view::npos ? "-" : r.request.substr(sp + 1));
  }
  o.put_char(' ');
  o.put_uint(r.status);
  o.put_char(' ');
  o.put_uint(r.bytes);
  o.put_char(' ');
  o.put_uint(r.duration_us);
  *o.p++ = '\n';
  return static_cast<size_t>(o.p - out);
}

bool AccessLogFile::open(const std::string& path, std::string* error) {
  path_ = path;
  int fd = open_descriptor(error);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

int AccessLogFile::open_descriptor(std::string* error) const {
  int fd = to_stdout() ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)
                       : ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) *error = "--access-log " + path_ + ": " + strerror(errno);
  return fd;
}

AccessLogWriter::AccessLogWriter(const AccessLogFile& file, reactor::TimerWheel& timers)
    : file_(file), timers_(timers), buf_(new char[kBufferBytes]) {
  timer_.writer = this;
  timer_.set_callback(&AccessLogWriter::on_flush_timer);
  generation_ = file_.generation();
  std::string error;
  fd_ = file_.open_descriptor(&error);
  if (fd_ < 0) REACTOR_LOG_ERROR("%s", error.c_str());
  struct stat st {};
  pipe_ = fd_ >= 0 && fstat(fd_, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

AccessLogWriter::~AccessLogWriter() {
  flush();
  if (fd_ >= 0) ::close(fd_);
}

void AccessLogWriter::on_flush_timer(reactor::TimerNode* node) {
  static_cast<FlushTimer*>(node)->writer->flush();
}

void AccessLogWriter::append(const AccessRecord& r) {
  if (kBufferBytes - used_ < kMaxLine) flush();
  timespec wall{};
  clock_gettime(CLOCK_REALTIME, &wall);
  used_ += format_access_line(r, wall, buf_.get() + used_, kMaxLine);
  if (!timer_.armed()) timers_.schedule(&timer_, kFlushMs);
}

void AccessLogWriter::flush() {
  timer_.cancel();
  if (used_ == 0) return;
  uint64_t gen = file_.generation();
  if (gen != generation_ && !file_.to_stdout()) {
    // Rotated: the new file from now on. If it cannot be opened the old one is kept.
    generation_ = gen;
    std::string error;
    int fd = file_.open_descriptor(&error);
    if (fd >= 0) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = fd;
    } else {
      REACTOR_LOG_ERROR("%s (reopen; still writing to the old file)", error.c_str());
    }
  }
  // Whole lines per write; a pipe gets at most PIPE_BUF bytes at a time, which it writes
  // atomically, so the lines of several loops sharing it stay whole.
  const char* p = buf_.get();
  size_t left = used_;
  while (left > 0) {
    size_t n = left;
    if (pipe_ && n > PIPE_BUF) {
      const char* last = static_cast<const char*>(memrchr(p, '\n', PIPE_BUF));
      n = last ? static_cast<size_t>(last - p) + 1 : PIPE_BUF;
    }
    write_out(p, n);
    p += n;
    left -= n;
  }
  used_ = 0;
}

void AccessLogWriter::write_out(const char* p, size_t n) {
  while (n > 0 && fd_ >= 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      // A full disk or a closed pipe: the lines are lost (counted), the loop goes on.
      ++write_errors_;
      return;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace reactord
