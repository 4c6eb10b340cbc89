// Character-class lookup tables shared by the request parser and the body decoder. One 256-entry
// table per class keeps the hot scanning loops to a single load and branch per byte.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace reactord::http::detail {

using CharTable = std::array<bool, 256>;

constexpr bool is_alpha(unsigned c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(unsigned c) {
  return c >= '0' && c <= '9';
}

// tchar (RFC 9110 §5.6.2): the characters of a token (method, field name, transfer coding).
constexpr CharTable make_token_table() {
  CharTable t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = is_alpha(c) || is_digit(c);
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}

// Request-target bytes: visible US-ASCII only. URIs (RFC 3986) are ASCII, so SP, CTLs, DEL and
// bytes >= 0x80 are all rejected.
constexpr CharTable make_target_table() {
  CharTable t{};
  for (unsigned c = 0x21; c < 0x7F; ++c) t[c] = true;
  return t;
}

// field-value bytes (RFC 9110 §5.5): VCHAR, obs-text, SP and HTAB. Everything else is a CTL
// (including NUL, CR and LF) and makes the field invalid.
constexpr CharTable make_field_value_table() {
  CharTable t{};
  for (unsigned c = 0x20; c < 256; ++c) t[c] = c != 0x7F;
  t['\t'] = true;
  return t;
}

// Host field value: the characters of uri-host [ ":" port ] (RFC 3986 reg-name, IP-literal,
// IPv4address). Rejecting the rest keeps '/', '@', spaces and the like out of the authority.
constexpr CharTable make_host_table() {
  CharTable t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = is_alpha(c) || is_digit(c);
  for (char c : std::string_view("-._~%!$&'()*+,;=:[]")) t[static_cast<unsigned char>(c)] = true;
  return t;
}

inline constexpr CharTable kTokenChar = make_token_table();
inline constexpr CharTable kTargetChar = make_target_table();
inline constexpr CharTable kFieldValueChar = make_field_value_table();
inline constexpr CharTable kHostChar = make_host_table();

// SWAR helpers: test 8 bytes at once, so long field values and targets cost about one branch per
// word instead of one per byte. Both are exact about whether *any* byte matches.
inline constexpr uint64_t kOnes = 0x0101010101010101ull;
inline constexpr uint64_t kHighBits = 0x8080808080808080ull;
// Any byte < n (n <= 128).
constexpr bool any_byte_less(uint64_t w, uint8_t n) {
  return ((w - kOnes * n) & ~w & kHighBits) != 0;
}
// Any byte == b.
constexpr bool any_byte_equal(uint64_t w, uint8_t b) {
  const uint64_t x = w ^ (kOnes * b);
  return ((x - kOnes) & ~x & kHighBits) != 0;
}

inline uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Returns the first byte in [p, end) that is not a field-value byte (or end).
inline const char* skip_field_value(const char* p, const char* end) {
  for (;;) {
    // Words with no CTL and no DEL are all valid; HTAB (rare) goes through the table.
    while (end - p >= 8) {
      const uint64_t w = load8(p);
      if (any_byte_less(w, 0x20) || any_byte_equal(w, 0x7F)) break;
      p += 8;
    }
    const char* const stop = end - p >= 8 ? p + 8 : end;
    while (p < stop && kFieldValueChar[static_cast<unsigned char>(*p)]) ++p;
    if (p != stop || p == end) return p;
  }
}

// Returns the first byte in [p, end) that is not a request-target byte (or end).
inline const char* skip_target(const char* p, const char* end) {
  while (end - p >= 8) {
    const uint64_t w = load8(p);
    if ((w & kHighBits) != 0 || any_byte_less(w, 0x21) || any_byte_equal(w, 0x7F)) break;
    p += 8;
  }
  while (p < end && kTargetChar[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

inline bool is_token_char(char c) {
  return kTokenChar[static_cast<unsigned char>(c)];
}
inline bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// ASCII lower-casing; field names and tokens are case-insensitive ASCII, never locale-dependent.
constexpr char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// Case-insensitive equality against a lower-case literal.
constexpr bool iequals(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (to_lower(s[i]) != lower[i]) return false;
  }
  return true;
}

// Strips optional whitespace (SP / HTAB) from both ends.
constexpr std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace reactord::http::detail
