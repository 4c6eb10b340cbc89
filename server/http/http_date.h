// IMF-fixdate formatting for the Date response header (RFC 9110 §5.6.7), written into a caller
// buffer so the server can refresh a cached copy once per second without allocating.
#pragma once

#include <cstddef>
#include <cstdint>

namespace reactord::http {

// Length of an IMF-fixdate such as "Sun, 06 Nov 1994 08:49:37 GMT".
inline constexpr size_t kHttpDateLength = 29;

// Writes the IMF-fixdate for `unix_seconds` to out[0, kHttpDateLength) (no terminating NUL) and
// returns kHttpDateLength. Times outside years 0000-9999 are clamped into that range.
size_t format_http_date(int64_t unix_seconds, char* out);

}  // namespace reactord::http
