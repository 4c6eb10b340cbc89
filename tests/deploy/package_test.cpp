// Packaging: CPack builds the .deb from this build tree, and it holds the binaries, the unit
// files, the sysctl file and the default config (marked as a conffile).
#include <gtest/gtest.h>

#include "tests/deploy/deploy_support.h"

namespace deploy_test {
namespace {

TEST(Package, DebBuildsAndListsTheDeployFiles) {
  if (!have_tool("dpkg-deb")) GTEST_SKIP() << "dpkg-deb not installed";
  // CPack computes Depends: with dpkg-shlibdeps (dpkg-dev), after `file` spots the binaries.
  if (!have_tool("dpkg-shlibdeps") || !have_tool("file"))
    GTEST_SKIP() << "dpkg-shlibdeps or file not installed (scripts/deps.sh installs them)";
  TempDir dir;
  std::string out;
  int code = run_command(std::string("'") + CPACK_COMMAND + "' -G DEB --config '" +
                             REACTORD_BINARY_DIR + "/CPackConfig.cmake' -B '" + dir.path() + "'",
                         &out);
  ASSERT_EQ(code, 0) << out;
  std::string deb;
  ASSERT_EQ(run_command("ls " + dir.path() + "/reactord_*.deb", &deb), 0) << out;
  deb.erase(deb.find_last_not_of("\n") + 1);

  std::string list;
  ASSERT_EQ(run_command("dpkg-deb -c '" + deb + "'", &list), 0) << list;
  for (const char* path :
       {"./usr/bin/reactord", "./usr/bin/reactord-client",
        "./usr/lib/systemd/system/reactord.service",
        "./usr/lib/systemd/system/reactord-activated.service",
        "./usr/lib/systemd/system/reactord.socket",
        "./usr/lib/systemd/system/reactord-upper.socket", "./usr/lib/sysctl.d/90-reactord.conf",
        "./etc/reactord/reactord.toml", "./usr/share/doc/reactord/README.md"})
    EXPECT_NE(list.find(std::string(path) + "\n"), std::string::npos) << path << "\n" << list;

  // The daemon's package carries the daemon: the library's headers, archive and CMake and
  // pkg-config files are for `cmake --install` (component Development), not for the .deb.
  for (const char* path : {"./usr/include/", "libreactor", "/cmake/reactor/", "reactor.pc"})
    EXPECT_EQ(list.find(path), std::string::npos) << path << "\n" << list;

  std::string conffiles;
  ASSERT_EQ(run_command("dpkg-deb -I '" + deb + "' conffiles", &conffiles), 0) << conffiles;
  EXPECT_NE(conffiles.find("/etc/reactord/reactord.toml"), std::string::npos) << conffiles;

  // The packaged unit starts the packaged binary.
  std::string unit;
  ASSERT_EQ(run_command("dpkg-deb --fsys-tarfile '" + deb +
                            "' | tar -xOf - ./usr/lib/systemd/system/reactord.service",
                        &unit),
            0);
  EXPECT_NE(unit.find("ExecStart=/usr/bin/reactord\n"), std::string::npos) << unit;
}

}  // namespace
}  // namespace deploy_test
