// Tiny streaming JSON writer for bench reports: objects, arrays, escaped strings, numbers.
#pragma once

#include <cassert>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace reactord::bench {

// Writes straight to an ostream as calls arrive (nothing is buffered besides the nesting stack),
// inserting commas itself so callers never track "first element". Misuse (a value where a key is
// due, unbalanced end_*) is caught by assert in debug builds.
//
//   JsonWriter w(file, 2);
//   w.begin_object();
//   w.member("rps", 12345.6);
//   w.key("latency_us").begin_object().member("p50", 41.5).end_object();
//   w.end_object();
class JsonWriter {
 public:
  // indent == 0 writes compact JSON; otherwise pretty-prints with that many spaces per level.
  explicit JsonWriter(std::ostream& out, int indent = 0) : out_(out), indent_(indent) {}

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('{', '}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close('[', ']'); }

  JsonWriter& key(std::string_view name) {
    assert(!stack_.empty() && stack_.back().kind == '{' && !after_key_);
    separate();
    write_string(out_, name);
    out_ << (indent_ > 0 ? ": " : ":");
    after_key_ = true;
    return *this;
  }

  JsonWriter& value(std::string_view s) {
    before_value();
    write_string(out_, s);
    return *this;
  }
  // Without this overload a string literal would pick value(bool) (a standard conversion beats
  // the user-defined one to string_view).
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b) {
    before_value();
    out_ << (b ? "true" : "false");
    return *this;
  }
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& value(T v) {
    before_value();
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out_.write(buf, res.ptr - buf);
    return *this;
  }
  // Shortest text that round-trips; NaN and infinities are not JSON, so they become null.
  template <std::floating_point T>
  JsonWriter& value(T v) {
    before_value();
    const double d = static_cast<double>(v);
    if (!std::isfinite(d)) {
      out_ << "null";
      return *this;
    }
    char buf[40];
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
    const auto res = std::to_chars(buf, buf + sizeof buf, d);
    out_.write(buf, res.ptr - buf);
#else
    const int n = std::snprintf(buf, sizeof buf, "%.17g", d);
    out_.write(buf, n);
#endif
    return *this;
  }
  JsonWriter& null_value() {
    before_value();
    out_ << "null";
    return *this;
  }

  template <typename T>
  JsonWriter& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }
  JsonWriter& member(std::string_view name, const char* v) {
    key(name);
    return value(v);
  }

  // True once exactly one complete top-level value has been written.
  bool complete() const {
    return stack_.empty() && wrote_top_level_;
  }

  // Writes `s` as a quoted JSON string. Bytes >= 0x80 pass through untouched (UTF-8 stays
  // UTF-8); control characters, quote and backslash are escaped.
  static void write_string(std::ostream& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.put('"');
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      switch (c) {
        case '"':
          out << "\\\"";
          break;
        case '\\':
          out << "\\\\";
          break;
        case '\n':
          out << "\\n";
          break;
        case '\r':
          out << "\\r";
          break;
        case '\t':
          out << "\\t";
          break;
        case '\b':
          out << "\\b";
          break;
        case '\f':
          out << "\\f";
          break;
        default:
          if (u < 0x20) {
            const char esc[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
            out.write(esc, sizeof esc);
          } else {
            out.put(c);
          }
      }
    }
    out.put('"');
  }

 private:
  struct Level {
    char kind;  // '{' or '['
    bool empty;
  };

  // Comma (when not the first element) and, when pretty-printing, a newline plus indentation.
  void separate() {
    Level& level = stack_.back();
    if (!level.empty) out_.put(',');
    level.empty = false;
    newline(stack_.size());
  }

  void before_value() {
    if (stack_.empty()) {
      assert(!wrote_top_level_);
      wrote_top_level_ = true;
    } else if (after_key_) {
      after_key_ = false;
    } else {
      assert(stack_.back().kind == '[');
      separate();
    }
  }

  void newline(std::size_t depth) {
    if (indent_ <= 0) return;
    out_.put('\n');
    for (std::size_t i = 0; i < depth * static_cast<std::size_t>(indent_); ++i) out_.put(' ');
  }

  JsonWriter& open(char kind) {
    before_value();
    out_.put(kind);
    stack_.push_back({kind, true});
    return *this;
  }

  JsonWriter& close(char kind, char closer) {
    assert(!stack_.empty() && stack_.back().kind == kind && !after_key_);
    (void)kind;
    const bool empty = stack_.back().empty;
    stack_.pop_back();
    if (!empty) newline(stack_.size());
    out_.put(closer);
    if (stack_.empty() && indent_ > 0) out_.put('\n');
    return *this;
  }

  std::ostream& out_;
  int indent_;
  std::vector<Level> stack_;
  bool after_key_ = false;
  bool wrote_top_level_ = false;
};

}  // namespace reactord::bench
