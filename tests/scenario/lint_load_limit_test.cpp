// `check` warns before anything boots when a load asks a unit to hold more than its
// own MemoryHigh=/MemoryMax= before it is ready: systemd's TEST-55-OOMD re-expressed
// with a 10M baseline under MemoryHigh=3M never became ready (issue 22).
#include <gtest/gtest.h>

#include "scenario/lint.hpp"
#include "scenario/parse.hpp"

using namespace oom;

namespace {
std::string warningsOf(const std::string& unit, const std::string& load) {
  const auto c = parseScenario(R"({"name": "n", "description": "d",
    "services": [{"name": "w", "why": "y", "unit": )" + unit + R"(, "load": )" + load + R"(}],
    "expect": {"units": {"w": {"oom_kills": {"min": 1}}}}})", "n.json");
  EXPECT_TRUE(c.ok()) << (c.errors.empty() ? "" : c.errors.front().str());
  std::string all;
  for (const auto& w : c.warnings)
    if (w.rule == "load-above-own-limit") all += w.str() + "\n";
  return all;
}
}  // namespace

TEST(LintLoadLimit, ABaselineAboveMemoryHighIsNamedWithItsPath) {
  const std::string w = warningsOf(R"({"MemoryHigh": "3M", "Restart": "on-failure"})",
                                   R"({"baseline": "10M", "leak": "30M/s"})");
  EXPECT_NE(w.find("n.json: $.services[0].unit.MemoryHigh: baseline 10MiB is above its own MemoryHigh=3M"),
            std::string::npos) << w;
  EXPECT_NE(w.find("is often killed before it is ready"), std::string::npos) << w;
  EXPECT_NE(w.find("start small and leak instead"), std::string::npos) << w;
}

TEST(LintLoadLimit, ASpikeAboveMemoryHighToo) {
  EXPECT_NE(warningsOf(R"({"MemoryHigh": "64M"})", R"({"baseline": "40M", "spike": "40M@5s"})")
                .find("baseline and spike, 80MiB, are above its own MemoryHigh=64M"),
            std::string::npos);
}

TEST(LintLoadLimit, QuietWhenTheLoadStartsBelowItsLimitAndLeaks) {
  EXPECT_EQ(warningsOf(R"({"MemoryHigh": "64M", "MemoryMax": "96M"})", R"({"baseline": "8M", "leak": "30M/s"})"), "");
  EXPECT_EQ(warningsOf(R"({"MemoryMax": "infinity"})", R"({"baseline": "100M"})"), "");
  EXPECT_EQ(warningsOf(R"({"MemoryHigh": "3M"})", R"({"baseline": "2M"})"), "");
}
