// Number parsing for command lines and config files: nothing trailing, nothing out of range.
#include "reactor/number_text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace reactor {

bool parse_int(std::string_view text, int64_t lo, int64_t hi, int64_t* out) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

bool parse_double(std::string_view text, double lo, double hi, double* out) {
  if (text.empty()) return false;
  std::string s(text);
  char* end = nullptr;
  double v = strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool parse_bytes(std::string_view text, uint64_t* out) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  int64_t v;
  if (!parse_int(text.substr(0, i), 0, INT64_MAX / (1 << 30), &v)) return false;
  std::string_view unit = text.substr(i);
  uint64_t mul;
  if (unit.empty() || unit == "b" || unit == "B")
    mul = 1;
  else if (unit == "k" || unit == "K" || unit == "KiB")
    mul = 1024;
  else if (unit == "m" || unit == "M" || unit == "MiB")
    mul = 1024 * 1024;
  else if (unit == "g" || unit == "G" || unit == "GiB")
    mul = 1024ull * 1024 * 1024;
  else
    return false;
  *out = static_cast<uint64_t>(v) * mul;
  return true;
}

}  // namespace reactor
