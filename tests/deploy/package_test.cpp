// Packaging: CPack builds the .deb from this build tree; it holds the daemon (in sbin), the
// tools, the unit files, man pages, docs, copyright and changelog, the sysctl profile as an
// example and the default config (a conffile), with maintainer scripts that use Debian's
// systemd helpers; and lintian finds nothing in it.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/deploy/deploy_support.h"

namespace deploy_test {
namespace {

// Builds the .deb into `dir` with CPack; its path, or "" after a failed assertion.
void build_deb(const TempDir& dir, std::string* deb) {
  std::string out;
  int code = run_command(std::string("'") + CPACK_COMMAND + "' -G DEB --config '" +
                             REACTORD_BINARY_DIR + "/CPackConfig.cmake' -B '" + dir.path() + "'",
                         &out);
  ASSERT_EQ(code, 0) << out;
  ASSERT_EQ(run_command("ls " + dir.path() + "/reactord_*.deb", deb), 0) << out;
  deb->erase(deb->find_last_not_of("\n") + 1);
}

bool can_build_deb(std::string* why) {
  // CPack computes Depends: with dpkg-shlibdeps (dpkg-dev), after `file` spots the binaries.
  if (!have_tool("dpkg-deb") || !have_tool("dpkg-shlibdeps") || !have_tool("file")) {
    *why = "dpkg-deb, dpkg-shlibdeps or file not installed (scripts/deps.sh installs them)";
    return false;
  }
  return true;
}

TEST(Package, DebBuildsAndListsTheDeployFiles) {
  std::string why;
  if (!can_build_deb(&why)) GTEST_SKIP() << why;
  TempDir dir;
  std::string deb;
  ASSERT_NO_FATAL_FAILURE(build_deb(dir, &deb));

  std::string list;
  ASSERT_EQ(run_command("dpkg-deb -c '" + deb + "'", &list), 0) << list;
  for (const char* path :
       {"./usr/sbin/reactord", "./usr/bin/reactord-client",
        "./usr/lib/systemd/system/reactord.service",
        "./usr/lib/systemd/system/reactord-activated.service",
        "./usr/lib/systemd/system/reactord.socket",
        "./usr/lib/systemd/system/reactord-upper.socket",
        "./usr/share/doc/reactord/examples/90-reactord.conf", "./etc/reactord/reactord.toml",
        "./usr/share/doc/reactord/README.md", "./usr/share/doc/reactord/ARCHITECTURE.md",
        "./usr/share/doc/reactord/DEPLOY.md", "./usr/share/doc/reactord/copyright",
        "./usr/share/doc/reactord/changelog.gz", "./usr/share/man/man8/reactord.8.gz",
        "./usr/share/man/man1/reactord-client.1.gz"})
    EXPECT_NE(list.find(std::string(path) + "\n"), std::string::npos) << path << "\n" << list;
  // The sysctl profile changes the whole host: an example to opt into, never applied.
  EXPECT_EQ(list.find("sysctl.d"), std::string::npos) << list;
  EXPECT_EQ(list.find("./usr/bin/reactord\n"), std::string::npos) << "the daemon is in sbin";

  // Install enables and starts the service, removal stops it: Debian's systemd helpers.
  std::string postinst, prerm;
  ASSERT_EQ(run_command("dpkg-deb -I '" + deb + "' postinst", &postinst), 0) << postinst;
  EXPECT_NE(postinst.find("deb-systemd-helper enable 'reactord.service'"), std::string::npos);
  EXPECT_NE(postinst.find("deb-systemd-invoke $_action 'reactord.service'"), std::string::npos);
  ASSERT_EQ(run_command("dpkg-deb -I '" + deb + "' prerm", &prerm), 0) << prerm;
  EXPECT_NE(prerm.find("deb-systemd-invoke stop 'reactord.service'"), std::string::npos);

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
  EXPECT_NE(unit.find("ExecStart=/usr/sbin/reactord\n"), std::string::npos) << unit;
}

// lintian, at its default level, finds nothing: no error, no warning.
TEST(Package, LintianFindsNothing) {
  std::string why;
  if (!can_build_deb(&why)) GTEST_SKIP() << why;
  ASSERT_TRUE(have_tool("lintian")) << "lintian not installed: run scripts/deps.sh";
  TempDir dir;
  std::string deb;
  ASSERT_NO_FATAL_FAILURE(build_deb(dir, &deb));
  std::string out;
  int code = run_command("lintian --fail-on error,warning '" + deb + "'", &out);
  // Findings only: lintian's own note about running as root (as CI does) is not one.
  std::string report;
  std::istringstream lines(out);
  for (std::string l; std::getline(lines, l);)
    if (l.find("running with root privileges") == std::string::npos) report += l + "\n";
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(report, "");
}

}  // namespace
}  // namespace deploy_test
