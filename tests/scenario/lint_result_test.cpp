// `check` warns where the guest's systemd cannot report what a scenario expects:
// on bookworm (systemd 252) a restarted unit's later OOM kill may end with
// Result=signal (docs/kernel-and-systemd.md#result-signal-after-a-restart).
#include <gtest/gtest.h>

#include "scenario/parse.hpp"

using namespace oom;

namespace {
std::string warningsOf(const std::string& release, const std::string& restart, const std::string& kills) {
  const auto c = parseScenario(R"({"name": "n", "description": "d", "guest": {"release": ")" + release + R"("},
    "services": [{"name": "w", "why": "y", "unit": {"OOMScoreAdjust": 500, "Restart": ")" + restart + R"("},
                  "load": {"baseline": "10M", "leak": "10M/s"}}],
    "expect": {"units": {"w": {"oom_kills": )" + kills + R"(, "Result": "oom-kill"}}}})", "n.json");
  EXPECT_TRUE(c.ok());
  std::string all;
  for (const auto& w : c.warnings) all += w.str() + "\n";
  return all;
}
}  // namespace

TEST(LintResult, WarnsWhenAKillAfterARestartIsExpectedOnSystemd252) {
  const std::string w = warningsOf("bookworm", "on-failure", R"({"min": 2})");
  EXPECT_NE(w.find("n.json: $.expect.units.w.Result: Result \"oom-kill\" on bookworm (systemd 252)"), std::string::npos) << w;
  EXPECT_NE(w.find("the check accepts signal for kills after the first restart"), std::string::npos) << w;
}

TEST(LintResult, QuietWhenNoKillAfterARestartIsExpected) {
  EXPECT_EQ(warningsOf("bookworm", "on-failure", "1").find("systemd 252"), std::string::npos);
  EXPECT_EQ(warningsOf("bookworm", "on-abort", R"({"min": 2})").find("systemd 252"), std::string::npos);  // no restart
  EXPECT_EQ(warningsOf("trixie", "on-failure", R"({"min": 2})").find("systemd 252"), std::string::npos);
}
