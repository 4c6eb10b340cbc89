// The default listeners as the code has them (each protocol's default_address) are the ones
// the README, the deploy guide, the shipped config and the unit's comment state.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/options.h"

namespace reactord {
namespace {

// The file's text with comment markers dropped and every run of blanks one space, so wrapped
// lines and "# " prefixes do not matter.
std::string flattened(const std::string& relative) {
  std::ifstream in(std::string(REACTORD_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative;
  std::string out, line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    for (std::string w; words >> w;) {
      if (w == "#") continue;
      out += (out.empty() ? "" : " ") + w;
    }
  }
  return out;
}

TEST(Docs, StateTheDefaultListenersOfTheCode) {
  // "echo on 127.0.0.1:7000, upper on 127.0.0.1:7001, http on 127.0.0.1:8080"
  std::string listeners;
  for (const Protocol& p : builtin_protocols().all()) {
    if (p.default_address.empty()) continue;
    listeners += (listeners.empty() ? "" : ", ") + p.name + " on " + p.default_address;
  }
  ASSERT_FALSE(listeners.empty());
  for (const char* doc :
       {"README.md", "deploy/README.md", "deploy/reactord.toml", "deploy/systemd/reactord.service"})
    EXPECT_NE(flattened(doc).find(listeners), std::string::npos)
        << doc << " does not say " << listeners;
}

}  // namespace
}  // namespace reactord
