// Build facts come from CMake as compile definitions (server/CMakeLists.txt).
#include "server/build_info.h"

#include "reactor/backend_kind.h"

#ifndef REACTORD_VERSION
#error "REACTORD_VERSION comes from the CMake project version"
#endif

namespace reactord {

const char* version() {
  return REACTORD_VERSION;
}

std::string backends_compiled_in() {
  return reactor::io_uring_compiled_in() ? "epoll,io_uring" : "epoll";
}

std::string version_text(const char* program) {
  std::string s = std::string(program) + " " + version() + "\n";
  s += "backends: " + backends_compiled_in() + "\n";
  s += std::string("liburing: ") +
       (REACTORD_LIBURING_VERSION[0] ? REACTORD_LIBURING_VERSION : "no") + "\n";
  s += std::string("systemd: ") +
       (REACTORD_LIBSYSTEMD_VERSION[0]
            ? "libsystemd " REACTORD_LIBSYSTEMD_VERSION
            : "built-in sd_notify and socket activation (no libsystemd)") +
       "\n";
  s += "default config: " REACTORD_DEFAULT_CONFIG_PATH;
  return s;
}

}  // namespace reactord
