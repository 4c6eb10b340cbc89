// deploy/systemd: the unit files pass `systemd-analyze verify`, and `systemd-analyze security`
// rates the service's exposure at most 1.5 and the socket-activated one at most 0.5.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/deploy/deploy_support.h"

namespace deploy_test {
namespace {

const char* const kUnits[] = {"reactord.service", "reactord-activated.service", "reactord.socket",
                              "reactord-upper.socket"};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Copies the units into `dir` with ExecStart= naming the built binary: verify checks that
// the command exists and is executable, and /usr/sbin/reactord is not installed here.
void stage_units(const TempDir& dir) {
  for (const char* unit : kUnits) {
    std::string text = read_file(std::string(REACTORD_SOURCE_DIR "/deploy/systemd/") + unit);
    ASSERT_FALSE(text.empty()) << unit;
    std::string from = "/usr/sbin/reactord";
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + 1))
      text.replace(at, from.size(), REACTORD_BIN);
    dir.write(unit, text);
  }
}

TEST(SystemdUnits, VerifyPasses) {
  if (!have_tool("systemd-analyze"))
    GTEST_SKIP() << "systemd-analyze not installed (scripts/deps.sh installs systemd)";
  TempDir dir;
  stage_units(dir);
  std::string cmd = "cd " + dir.path() + " && systemd-analyze verify --man=false";
  for (const char* unit : kUnits) cmd += std::string(" ./") + unit;
  std::string out;
  int code = run_command(cmd, &out);
  EXPECT_EQ(code, 0) << out;
  // Warnings about other units of this machine are not ours; any about reactord's are.
  EXPECT_EQ(out.find("reactord"), std::string::npos) << out;
}

// "→ Overall exposure level for reactord.service: 1.3 OK 🙂" -> 1.3
double exposure(const TempDir& dir, const std::string& unit, std::string* out) {
  int code = run_command(
      "cd " + dir.path() + " && systemd-analyze security --offline=true --no-pager ./" + unit, out);
  if (code != 0) return -1;
  std::string key = "Overall exposure level for " + unit + ": ";
  size_t at = out->find(key);
  if (at == std::string::npos) return -1;
  return strtod(out->c_str() + at + key.size(), nullptr);
}

TEST(SystemdUnits, SecurityExposure) {
  if (!have_tool("systemd-analyze"))
    GTEST_SKIP() << "systemd-analyze not installed (scripts/deps.sh installs systemd)";
  TempDir dir;
  stage_units(dir);
  std::string out;
  double service = exposure(dir, "reactord.service", &out);
  EXPECT_GE(service, 0) << out;
  EXPECT_LE(service, 1.5) << out;
  double activated = exposure(dir, "reactord-activated.service", &out);
  EXPECT_GE(activated, 0) << out;
  EXPECT_LE(activated, 0.5) << out;
  RecordProperty("exposure_service", std::to_string(service));
  RecordProperty("exposure_activated", std::to_string(activated));
}

// What the service promises to systemd, checked in the text (systemd itself is not running
// in the test environment).
TEST(SystemdUnits, ServiceContract) {
  for (const char* unit : {"reactord.service", "reactord-activated.service"}) {
    std::string text = read_file(std::string(REACTORD_SOURCE_DIR "/deploy/systemd/") + unit);
    SCOPED_TRACE(unit);
    for (const char* line : {"Type=notify\n", "ExecStart=/usr/sbin/reactord", "WatchdogSec=",
                             "Restart=on-failure\n", "KillSignal=SIGTERM\n", "TimeoutStopSec=20s\n",
                             "ExecReload=/bin/kill -HUP $MAINPID\n", "DynamicUser=yes\n",
                             "SystemCallFilter=@system-service\n", "MemoryDenyWriteExecute=yes\n"})
      EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  // TimeoutStopSec=20s must exceed the default drain timeout (10 s) so a drain completes.
  std::string sock = read_file(REACTORD_SOURCE_DIR "/deploy/systemd/reactord.socket");
  EXPECT_NE(sock.find("FileDescriptorName=echo\n"), std::string::npos);
  EXPECT_NE(sock.find("Service=reactord-activated.service\n"), std::string::npos);
}

}  // namespace
}  // namespace deploy_test
