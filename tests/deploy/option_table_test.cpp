// The option table behind the command line and the config file: every key is accepted by
// both with the same meaning, and the file-then-CLI merge keeps the CLI's values.
#include <gtest/gtest.h>

#include "server/options.h"
#include "tests/deploy/deploy_support.h"

namespace reactord {
namespace {

const ProtocolRegistry& kProtocols = builtin_protocols();

// A non-default value for every key, written as the command line would carry it.
std::string sample_value(std::string_view key) {
  if (key == "listen") return "upper=127.0.0.1:7101";
  if (key == "threads") return "3";
  if (key == "backend") return "epoll";
  if (key == "backlog") return "100";
  if (key == "max-conns") return "77";
  if (key == "idle-timeout") return "2.5";
  if (key == "drain-timeout") return "4";
  if (key == "drain-grace") return "1.5";
  if (key == "high-water") return "2m";
  if (key == "low-water") return "128k";
  if (key == "log-level") return "warn";
  if (key == "log-format") return "json";
  if (key == "access-log") return "/tmp/reactord-access.log";
  if (key == "max-header-bytes") return "4096";
  if (key == "max-body") return "64k";
  if (key == "header-timeout") return "3";
  if (key == "defer-accept") return "5";
  if (key == "fastopen") return "256";
  if (key == "allow") return "10.0.0.0/8";
  if (key == "deny") return "::1/128";
  if (key == "proxy-from") return "2001:db8::/32";
  return "";
}

std::string toml_value(const OptionDef& d, const std::string& text) {
  if (d.value_name.empty()) return text;  // a switch: true/false
  return "\"" + text + "\"";
}

ConfigSource source_with(std::vector<std::string> args) {
  ConfigSource s;
  s.args = std::move(args);
  s.protocols = kProtocols;
  s.default_config_path = "/nonexistent/reactord.toml";
  return s;
}

TEST(OptionTable, EveryKeyWorksInTheFileAndOnTheCommandLine) {
  deploy_test::TempDir dir;
  Options defaults;
  for (const OptionDef& d : option_table(kProtocols)) {
    SCOPED_TRACE(std::string(d.key));
    std::string value = sample_value(d.key);
    if (d.value_name.empty()) value = d.show(defaults) == "true" ? "false" : "true";
    // A key without a sample value here still has to accept its own default in both places.
    bool has_sample = !value.empty();
    if (!has_sample) value = d.show(defaults);

    Options from_cli;
    ParseResult r = load_options(source_with({"--" + std::string(d.key) + "=" + value}), &from_cli);
    ASSERT_EQ(r.action, ParseResult::kRun) << r.message;

    std::string path =
        dir.write("r.toml", std::string(d.key) + " = " + toml_value(d, value) + "\n");
    Options from_file;
    r = load_options(source_with({"--config", path}), &from_file);
    ASSERT_EQ(r.action, ParseResult::kRun) << r.message;

    EXPECT_EQ(d.show(from_cli), d.show(from_file));
    if (has_sample) {
      EXPECT_NE(d.show(from_cli), d.show(defaults)) << "sample equals the default";
    }
  }
}

TEST(OptionTable, NumbersAndBooleansAreNativeTomlToo) {
  deploy_test::TempDir dir;
  std::string path = dir.write("r.toml",
                               "threads = 2\n"
                               "idle-timeout = 0.25\n"
                               "high-water = 2097152\n"
                               "pin = true\n"
                               "listen = \"echo=127.0.0.1:0\"\n");
  Options o;
  ParseResult r = load_options(source_with({"--config", path}), &o);
  ASSERT_EQ(r.action, ParseResult::kRun) << r.message;
  EXPECT_EQ(o.threads, 2);
  EXPECT_DOUBLE_EQ(o.idle_timeout_s, 0.25);
  EXPECT_EQ(o.high_water, 2u << 20);
  EXPECT_TRUE(o.pin);
  ASSERT_EQ(o.listens.size(), 1u);
  EXPECT_EQ(o.config_path, path);
}

TEST(OptionTable, CommandLineWinsOverTheFile) {
  deploy_test::TempDir dir;
  std::string path = dir.write("r.toml",
                               "threads = 2\n"
                               "pin = true\n"
                               "listen = [\"echo=127.0.0.1:1\", \"echo=127.0.0.1:2\"]\n");
  Options o;
  ParseResult r = load_options(source_with({"--threads", "5", "--config", path, "--pin=false",
                                            "--listen", "upper=127.0.0.1:3"}),
                               &o);
  ASSERT_EQ(r.action, ParseResult::kRun) << r.message;
  EXPECT_EQ(o.threads, 5);
  EXPECT_FALSE(o.pin);
  ASSERT_EQ(o.listens.size(), 1u);
  EXPECT_EQ(o.listens[0].protocol, "upper");
}

TEST(OptionTable, DefaultListenersOnlyWithoutSocketActivation) {
  Options plain;
  ASSERT_EQ(load_options(source_with({}), &plain).action, ParseResult::kRun);
  EXPECT_EQ(plain.listens.size(), 3u);  // echo, upper, http
  ConfigSource activated = source_with({});
  activated.socket_activated = true;
  Options o;
  ASSERT_EQ(load_options(activated, &o).action, ParseResult::kRun);
  EXPECT_TRUE(o.listens.empty());
}

TEST(OptionTable, DefaultConfigFileIsReadOnlyWhenPresent) {
  deploy_test::TempDir dir;
  ConfigSource s = source_with({});
  s.default_config_path = dir.file("reactord.toml");
  Options absent;
  ASSERT_EQ(load_options(s, &absent).action, ParseResult::kRun);
  EXPECT_EQ(absent.config_path, "");
  dir.write("reactord.toml", "max-conns = 9\n");
  Options present;
  ASSERT_EQ(load_options(s, &present).action, ParseResult::kRun);
  EXPECT_EQ(present.max_conns, 9);
  s.args = {"--no-config"};
  Options skipped;
  ASSERT_EQ(load_options(s, &skipped).action, ParseResult::kRun);
  EXPECT_EQ(skipped.max_conns, 0);
}

TEST(OptionTable, HelpListsEveryKey) {
  std::string help = usage_text(kProtocols);
  for (const OptionDef& d : option_table(kProtocols))
    EXPECT_NE(help.find("--" + std::string(d.key)), std::string::npos) << d.key;
}

}  // namespace
}  // namespace reactord
