// What this reactord binary is: the project version and the features compiled in, for
// --version and the reactord_build_info metric.
#pragma once

#include <string>

namespace reactord {

// CMake's project version ("0.1.0").
const char* version();
// The backends compiled in, as --backend names them: "epoll" or "epoll,io_uring".
std::string backends_compiled_in();
// "reactord 0.1.0" and one line per build feature (backends, liburing, systemd).
std::string version_text(const char* program);

}  // namespace reactord
