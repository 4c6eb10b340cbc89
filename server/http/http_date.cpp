// IMF-fixdate formatting with std::chrono's civil calendar: no gmtime_r, no locale, no strftime.
#include "http/http_date.h"

#include <algorithm>
#include <chrono>

namespace reactord::http {
namespace {

constexpr char kWeekdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Unix times of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62167219200;
constexpr int64_t kMaxSeconds = 253402300799;

char* put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

char* put3(char* p, const char (&s)[4]) {
  p[0] = s[0];
  p[1] = s[1];
  p[2] = s[2];
  return p + 3;
}

}  // namespace

size_t format_http_date(int64_t unix_seconds, char* out) {
  using namespace std::chrono;
  const int64_t t = std::clamp(unix_seconds, kMinSeconds, kMaxSeconds);
  const sys_seconds tp{seconds{t}};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{tp - day};
  const auto y = static_cast<unsigned>(static_cast<int>(ymd.year()));

  char* p = out;
  p = put3(p, kWeekdays[weekday{day}.c_encoding()]);
  *p++ = ',';
  *p++ = ' ';
  p = put2(p, static_cast<unsigned>(ymd.day()));
  *p++ = ' ';
  p = put3(p, kMonths[static_cast<unsigned>(ymd.month()) - 1]);
  *p++ = ' ';
  p = put2(p, y / 100);
  p = put2(p, y % 100);
  *p++ = ' ';
  p = put2(p, static_cast<unsigned>(hms.hours().count()));
  *p++ = ':';
  p = put2(p, static_cast<unsigned>(hms.minutes().count()));
  *p++ = ':';
  p = put2(p, static_cast<unsigned>(hms.seconds().count()));
  *p++ = ' ';
  *p++ = 'G';
  *p++ = 'M';
  *p++ = 'T';
  return static_cast<size_t>(p - out);
}

}  // namespace reactord::http
