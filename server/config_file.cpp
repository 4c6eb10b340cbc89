// TOML config file reader (toml++, header-only): maps each key to the option table's parser so
// the file and the command line accept exactly the same values.
#include "server/config_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include <toml++/toml.h>

namespace reactord {
namespace {

std::string at(const std::string& path, const toml::source_region& where) {
  return path + ":" + std::to_string(where.begin.line) + ": ";
}

// A scalar TOML value as the text the command line would carry; false for other types.
bool scalar_text(const toml::node& node, std::string* text) {
  if (const auto* s = node.as_string()) {
    *text = s->get();
  } else if (const auto* i = node.as_integer()) {
    *text = std::to_string(i->get());
  } else if (const auto* f = node.as_floating_point()) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f->get());
    if (ec != std::errc()) return false;
    text->assign(buf, end);
  } else if (const auto* b = node.as_boolean()) {
    *text = b->get() ? "true" : "false";
  } else {
    return false;
  }
  return true;
}

bool read_whole_file(const std::string& path, std::string* text, std::string* error) {
  auto fail = [&](int err) {
    *error = "cannot read config file " + path + ": " + strerror(err);
    return false;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail(err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    *error = "cannot read config file " + path + ": it is a directory";
    return false;
  }
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail(err);
    }
    text->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

}  // namespace

bool read_config_file(const std::string& path, const std::vector<OptionDef>& table, Options* out,
                      std::string* error) {
  // Read it ourselves first so a missing or unreadable file gets errno's words. An ifstream
  // opens a directory without complaint and a failed read just looks like an empty file; taken
  // as "no settings", that would reset every live setting to its default on SIGHUP. So the
  // file must be a readable non-directory, read to its end without an error.
  std::string text;
  if (!read_whole_file(path, &text, error)) return false;

  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    *error = at(path, e.source()) + std::string(e.description());
    return false;
  }

  // Every bad key is reported, not just the first: `reactord -t` lists them all at once.
  std::vector<std::string> errors;
  for (auto&& [key, node] : root) {
    std::string_view name = key.str();
    const OptionDef* def = nullptr;
    for (const auto& d : table) {
      if (d.key == name) def = &d;
    }
    std::string where = at(path, key.source()) + std::string(name) + ": ";
    if (!def) {
      errors.push_back(where + "unknown key");
      continue;
    }
    if (def->value_name.empty() && !node.is_boolean()) {
      errors.push_back(where + "want true or false");
      continue;
    }
    std::vector<std::pair<std::string, toml::source_region>> values;
    bool usable = true;
    if (const auto* array = node.as_array()) {
      if (!def->repeatable) {
        errors.push_back(where + "takes one value, not an array");
        continue;
      }
      for (const auto& element : *array) {
        std::string v;
        if (!scalar_text(element, &v)) {
          errors.push_back(at(path, element.source()) + std::string(name) + ": want a string");
          usable = false;
          continue;
        }
        values.emplace_back(std::move(v), element.source());
      }
    } else {
      std::string v;
      if (!scalar_text(node, &v)) {
        errors.push_back(where +
                         "want a string, number or boolean (keys are not grouped in tables)");
        continue;
      }
      values.emplace_back(std::move(v), node.source());
    }
    if (!usable) continue;
    if (def->repeatable) def->reset(out);
    for (const auto& [v, source] : values) {
      std::string why;
      if (!def->parse(v, out, &why))
        errors.push_back(at(path, source) + std::string(name) + ": " + why);
    }
  }
  if (!errors.empty()) {
    // toml++ visits keys in name order; an editor wants them in line order.
    auto line_of = [&path](const std::string& e) { return atoi(e.c_str() + path.size() + 1); };
    std::stable_sort(errors.begin(), errors.end(), [&](const std::string& a, const std::string& b) {
      return line_of(a) < line_of(b);
    });
    error->clear();
    for (const auto& e : errors) *error += (error->empty() ? "" : "\n") + e;
    return false;
  }
  return true;
}

}  // namespace reactord
