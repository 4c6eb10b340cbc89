// The TOML config file: every top-level key is a setting of the option table.
#pragma once

#include <string>
#include <vector>

#include "server/options.h"

namespace reactord {

// Reads `path` and applies each key through `table` to *out. Strings, integers, floats and
// booleans are accepted as values (a switch wants a boolean); a repeatable key also takes an
// array. On failure returns false with one "PATH:LINE: KEY: reason" line per bad key or value
// in *error (lines joined by '\n'; a syntax error stops the parse, so it is the only one).
bool read_config_file(const std::string& path, const std::vector<OptionDef>& table, Options* out,
                      std::string* error);

}  // namespace reactord
