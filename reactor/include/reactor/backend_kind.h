// Which I/O backend a loop runs on, by name (--backend, LoopConfig::backend).
#pragma once

#include <string>

namespace reactor {

// kAuto tries io_uring and falls back to epoll (the reason is in EventLoop::fallback_note()).
enum class BackendKind { kAuto, kEpoll, kIoUring };
const char* backend_kind_name(BackendKind k);
bool parse_backend_kind(const std::string& text, BackendKind* out);
// Whether this build of the library carries the io_uring backend (liburing was found). The
// kernel may still refuse it at run time; kAuto then falls back.
bool io_uring_compiled_in();

}  // namespace reactor
