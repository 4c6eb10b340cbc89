// agent_line(): the agent-check answer's rule (drain once stopping; weight from memory use).
#include "server/protocols/agent.h"

#include <gtest/gtest.h>

namespace {

using reactord::agent_line;

TEST(AgentLine, DrainOnceStoppingWhateverTheLoad) {
  EXPECT_EQ(agent_line(true, 0, 100), "drain\n");
  EXPECT_EQ(agent_line(true, 100, 100), "drain\n");
}

TEST(AgentLine, FullWeightUpToHalfTheBudgetThenDownToTen) {
  EXPECT_EQ(agent_line(false, 0, 1000), "ready up 100%\n");
  EXPECT_EQ(agent_line(false, 500, 1000), "ready up 100%\n");
  EXPECT_EQ(agent_line(false, 750, 1000), "ready up 55%\n");
  EXPECT_EQ(agent_line(false, 1000, 1000), "ready up 10%\n");
  EXPECT_EQ(agent_line(false, 5000, 1000), "ready up 10%\n");  // past the budget: still up
  EXPECT_EQ(agent_line(false, 5000, 0), "ready up 100%\n");    // no budget: no rule
}

}  // namespace
