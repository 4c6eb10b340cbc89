// Backend parameterization: every integration test runs once per I/O backend.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "reactor/backend_kind.h"

namespace reactor {
// Lets GoogleTest (and ctest test names) print a backend as "epoll" / "io_uring".
inline void PrintTo(BackendKind k, std::ostream* os) {
  *os << backend_kind_name(k);
}
}  // namespace reactor

namespace rt {

inline const reactor::BackendKind kAllBackends[] = {reactor::BackendKind::kEpoll,
                                                    reactor::BackendKind::kIoUring};

// Test-name suffix: "epoll" / "io_uring".
struct BackendName {
  std::string operator()(const testing::TestParamInfo<reactor::BackendKind>& info) const {
    return reactor::backend_kind_name(info.param);
  }
};

}  // namespace rt
