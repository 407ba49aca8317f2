// The plan record's facts and fingerprint (plan/fingerprint.hpp): what a recorded
// timeline is bound by, so they must not move when nothing the run tests moved.
#include "plan/fingerprint.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "plan/planner.hpp"
#include "scenario/parse.hpp"

using namespace oom;

namespace {

namespace fs = std::filesystem;

PlanFacts factsOf(const fs::path& file, const std::optional<fs::path>& units = std::nullopt) {
  auto c = loadScenarioFile(file, units);
  EXPECT_TRUE(c.ok()) << file;
  auto plan = makeGuestPlan(*c.scenario);
  EXPECT_TRUE(plan.has_value());
  return planFacts(*plan);
}

const fs::path kScenarios = fs::path(OOM_SOURCE_DIR) / "scenarios";

}  // namespace

TEST(PlanFacts, ThreeServicesInTheScenariosOwnWords) {
  const PlanFacts f = factsOf(kScenarios / "three-services.json");
  EXPECT_EQ(f.at("guest.memory"), "1G");
  EXPECT_EQ(f.at("guest.cpus"), "2");
  EXPECT_EQ(f.at("guest.swap"), "0");
  EXPECT_EQ(f.at("guest.swappiness"), "(the kernel's)");
  EXPECT_EQ(f.at("systemd_oomd"), "off");
  EXPECT_EQ(f.at("time_limit"), "120s");
  EXPECT_EQ(f.at("services.api.unit.OOMScoreAdjust"), "-300");
  EXPECT_EQ(f.at("services.api.unit.Type"), "notify");
  EXPECT_EQ(f.at("services.report-worker.load"),
            "--target 100M --leak --rate 20M/s --start-after 5s --report-interval 1s");
  EXPECT_EQ(planFingerprint(f).size(), 16u);
}

TEST(PlanFacts, OomdSettingsAreFactsOfTheirOwn) {
  const PlanFacts f = factsOf(kScenarios / "oomd-swap.json");
  EXPECT_EQ(f.at("systemd_oomd"), "on");
  EXPECT_EQ(f.at("systemd_oomd.SwapUsedLimit"), "80%");
}

// A unit file's source path depends on how the scenario was named on the command line;
// its text and where the guest installs it do not.
TEST(PlanFacts, DoNotDependOnWhereTheScenarioWasLoadedFrom) {
  const PlanFacts a = factsOf(kScenarios / "rollout/api-rollout.json");
  const PlanFacts b = factsOf(kScenarios / "rollout/../rollout/./api-rollout.json");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.at("services.api.files./etc/systemd/system/api.service").substr(0, 5), "text ");
  EXPECT_NE(a, factsOf(kScenarios / "rollout/api-rollout.json", kScenarios / "rollout/proposed"));
}

TEST(PlanFacts, TheFingerprintIsTheFactsCanonicalJson) {
  // FNV-1a 64 of {"a":"1"}: the same facts in any insertion order hash alike.
  EXPECT_EQ(planFingerprint({{"a", "1"}}), "374f8ae5becae325");
  EXPECT_EQ(planFingerprint({{"b", "2"}, {"a", "1"}}), planFingerprint({{"a", "1"}, {"b", "2"}}));
  EXPECT_NE(planFingerprint({{"a", "1"}}), planFingerprint({{"a", "2"}}));
}
