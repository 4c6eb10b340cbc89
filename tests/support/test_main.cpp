// main() for every test binary: SIGPIPE ignored (sends use MSG_NOSIGNAL anyway) and the soft
// descriptor limit raised to the hard one before any test opens sockets.
#include <gtest/gtest.h>

#include <csignal>

#include "tests/support/net.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  rt::raise_nofile_limit();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
