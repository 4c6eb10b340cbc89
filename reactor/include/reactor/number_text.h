// Strict parsing of numbers from flag and config text (shared by reactord and reactord-bench).
#pragma once

#include <cstdint>
#include <string_view>

namespace reactor {

// Whole text must be a decimal integer in [lo, hi].
bool parse_int(std::string_view text, int64_t lo, int64_t hi, int64_t* out);
// Whole text must be a finite decimal number in [lo, hi].
bool parse_double(std::string_view text, double lo, double hi, double* out);
// A byte count: digits, then an optional unit b|k|m|g (also KiB, MiB, GiB), binary multiples.
bool parse_bytes(std::string_view text, uint64_t* out);

}  // namespace reactor
