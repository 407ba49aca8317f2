// The planner writes oomstress's command line; oomstress parses it with its own
// option parser. Two programs must agree on every flag and every spelling, so this
// runs the real parser (oomstress_core) on the planner's output for every shipped
// scenario and checks that what oomstress will do is what the scenario's load says.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "oom/units.hpp"
#include "options.hpp"  // oomstress's parser (stressor/src)
#include "plan/planner.hpp"
#include "scenario/parse.hpp"

namespace oom {
namespace {

namespace fs = std::filesystem;

// Parses the unit's argv as oomstress would and compares it with the load.
void expectStressorDoesWhatTheLoadSays(const ServiceSpec& service, const PlannedUnit& unit,
                                       const PlanOptions& options) {
  SCOPED_TRACE(unit.systemd_run);
  ASSERT_FALSE(unit.exec_start.empty());
  EXPECT_EQ(unit.exec_start.front(), options.stressor_path);
  const std::vector<std::string> args(unit.exec_start.begin() + 1, unit.exec_start.end());
  const auto parsed = stress::parseOptions(args);
  ASSERT_TRUE(parsed) << "oomstress refuses what the planner wrote: " << parsed.error().str();
  const stress::Options& o = *parsed;
  const Load& l = *service.load;
  EXPECT_EQ(o.target, l.baseline_bytes);
  EXPECT_FALSE(o.target_from_checkpoint);
  EXPECT_EQ(o.processes, l.processes);
  EXPECT_EQ(o.supervisor, l.supervisor);
  EXPECT_EQ(o.processes + (o.supervisor ? 1u : 0u), unit.processes) << "every process in the unit's cgroup";
  EXPECT_EQ(o.leak, l.leak_bytes_per_sec > 0);
  // One --rate: the leak rate when leaking, else the ramp rate.
  EXPECT_EQ(o.rate, l.leak_bytes_per_sec > 0 ? l.leak_bytes_per_sec : l.rate_bytes_per_sec);
  ASSERT_EQ(o.spike.has_value(), l.spike.has_value());
  if (l.spike) {
    EXPECT_EQ(o.spike->bytes, l.spike->bytes);
    EXPECT_NEAR(o.spike->at_sec, l.spike->at_sec, 1e-9);
  }
  ASSERT_EQ(o.hold_sec.has_value(), l.hold_sec.has_value());
  if (l.hold_sec) {
    EXPECT_NEAR(*o.hold_sec, *l.hold_sec, 1e-9);
  }
  EXPECT_NEAR(o.start_after_sec, l.start_after_sec, 1e-9);
  EXPECT_EQ(o.sawtooth, l.sawtooth);
  EXPECT_EQ(o.compress_ratio, l.compress_ratio);
  EXPECT_EQ(!o.checkpoint.empty(), l.checkpoint);
  if (l.checkpoint) {
    EXPECT_EQ(fs::path(o.checkpoint).parent_path(), fs::path(guest::kCheckpointDir));
  }
  EXPECT_DOUBLE_EQ(o.report_interval_sec, options.report_interval_sec);
  EXPECT_FALSE(o.thp);
  EXPECT_FALSE(o.mlock);
  EXPECT_FALSE(o.help);
}

void expectEveryUnitAgrees(const Scenario& scenario) {
  const PlanOptions options;
  const auto plan = makeGuestPlan(scenario, options);
  ASSERT_TRUE(plan) << plan.error().str();
  ASSERT_EQ(plan->units.size(), scenario.services.size());
  for (std::size_t i = 0; i < scenario.services.size(); ++i)
    expectStressorDoesWhatTheLoadSays(scenario.services[i], plan->units[i], options);
}

TEST(StressorFlagsSync, EveryShippedScenarioSaysWhatOomstressReads) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(OOM_SOURCE_DIR) / "scenarios"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  ASSERT_GE(files.size(), 7u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const ScenarioCheck check = loadScenarioFile(file);
    ASSERT_TRUE(check.ok()) << (check.errors.empty() ? "" : check.errors.front().str());
    expectEveryUnitAgrees(*check.scenario);
  }
}

TEST(StressorFlagsSync, EveryLoadFieldAndOddValuesSurviveTheTrip) {
  // Every field of a load, with values that only an exact spelling carries over:
  // fractional sizes, sub-second times, sizes that are not a whole MiB.
  Scenario s;
  s.name = "every-field";
  auto service = [&](std::string name, Load load) {
    ServiceSpec svc;
    svc.name = std::move(name);
    svc.load = load;
    s.services.push_back(svc);
  };
  Load ramp;
  ramp.baseline_bytes = 3 * GiB / 2;
  ramp.processes = 3;
  ramp.rate_bytes_per_sec = 1536 * KiB;
  ramp.hold_sec = 0.25;
  ramp.start_after_sec = 1.5;
  ramp.sawtooth = true;
  ramp.supervisor = true;
  service("ramp", ramp);
  Load leak;
  leak.baseline_bytes = 100 * MiB + 4096;
  leak.leak_bytes_per_sec = 20 * MiB;
  leak.spike = SizeAt{700 * MiB, 20.125};
  leak.checkpoint = true;
  leak.compress_ratio = 16;
  service("leak", leak);
  Load plain;
  plain.baseline_bytes = 4095;
  service("plain", plain);
  expectEveryUnitAgrees(s);
}

}  // namespace
}  // namespace oom
