#include "plan/planner.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "scenario/budget.hpp"
#include "scenario/parse.hpp"

using namespace oom;

namespace {
Scenario load(const std::string& name) {
  auto c = loadScenarioFile(std::filesystem::path(OOM_SOURCE_DIR) / "scenarios" / name);
  EXPECT_TRUE(c.ok());
  return *c.scenario;
}
}  // namespace

TEST(GuestPlanFromScenario, ThreeServicesGivesOneUnitPerServiceInOrder) {
  auto plan = makeGuestPlan(load("three-services.json"));
  ASSERT_TRUE(plan) << plan.error().str();
  ASSERT_EQ(plan->units.size(), 3u);
  const auto& w = plan->units[2];
  EXPECT_EQ(w.unit, "report-worker.service");
  EXPECT_EQ(w.exec_start.front(), guest::kStressorPath);
  EXPECT_EQ(w.properties.front().name, "Type");
  EXPECT_EQ(w.properties.front().value, "notify");
  EXPECT_EQ(w.properties[1].name, "OOMScoreAdjust");
  EXPECT_EQ(w.systemd_run,
            "systemd-run --unit=report-worker.service -p Type=notify -p OOMScoreAdjust=600 "
            "-p OOMPolicy=kill -p Restart=on-failure -p RestartSec=5s -- "
            "/opt/oomharness/bin/oomstress --target 100M --leak --rate 20M/s --start-after 5s "
            "--report-interval 1s");
  EXPECT_EQ(w.baseline_bytes, 100u * 1024 * 1024);
  EXPECT_EQ(plan->decisive_kills, 1u);
  EXPECT_EQ(plan->settle_sec, 15);  // RestartSec 5s + restart_grace 10s
  EXPECT_EQ(plan->time_limit_sec, 120);
}

TEST(GuestPlanFromScenario, CheckpointAndSpikeBecomeStressorFlags) {
  auto plan = makeGuestPlan(load("batch-stop-checkpoint.json"));
  ASSERT_TRUE(plan);
  const auto& argv = plan->units[1].exec_start;
  auto it = std::find(argv.begin(), argv.end(), "--checkpoint");
  ASSERT_NE(it, argv.end());
  EXPECT_EQ(*(it + 1), "/var/lib/oomharness/batch-import.ckpt");
  auto img = makeGuestPlan(load("image-worker.json"));
  ASSERT_TRUE(img);
  EXPECT_NE(img->units[1].systemd_run.find("--spike 700M@20s"), std::string::npos);
}

TEST(GuestPlanFromScenario, ProcessCountIsPartOfThePlan) {
  auto img = makeGuestPlan(load("image-worker.json"));
  ASSERT_TRUE(img);
  EXPECT_EQ(img->units[1].processes, 2u);  // the guest checks every one of them before pressure
  auto three = makeGuestPlan(load("three-services.json"));
  ASSERT_TRUE(three);
  EXPECT_EQ(three->units[0].processes, 2u);
  EXPECT_EQ(three->units[2].processes, 1u);
}

TEST(GuestPlanFromScenario, ExplicitTypeIsNotDuplicated) {
  auto c = parseScenario(R"({"name": "n", "description": "d",
    "services": [{"name": "w", "why": "y", "unit": {"Type": "simple"}, "load": {"baseline": "10M"}}],
    "expect": {"never_killed": ["w"]}})", "n.json");
  ASSERT_TRUE(c.ok());
  auto plan = makeGuestPlan(*c.scenario);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->units[0].properties.size(), 1u);
  EXPECT_EQ(plan->units[0].properties[0].value, "simple");
  EXPECT_EQ(plan->decisive_kills, 0u);
}

TEST(GuestPlanFromScenario, RestartLoopNeedsSeveralKills) {
  auto plan = makeGuestPlan(load("restart-loop.json"));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->decisive_kills, 3u);
}

TEST(Budget, ExplainsTheArithmetic) {
  auto s = load("three-services.json");
  const Budget b = computeBudget(s);
  EXPECT_TRUE(b.fits());
  EXPECT_EQ(b.baselines_bytes, 450u * 1024 * 1024);
  EXPECT_EQ(b.overhead_bytes, kGuestOverheadBytes);
  EXPECT_NE(b.explain().find("366MiB left"), std::string::npos) << b.explain();
  EXPECT_NE(b.table().find("report-worker"), std::string::npos);
}

TEST(Budget, CountsEachReleasesMeasuredOverhead) {
  auto s = load("three-services.json");
  const auto bookworm = computeBudget(s).overhead_bytes;
  s.guest.release = "trixie";
  EXPECT_EQ(computeBudget(s).overhead_bytes, kTrixieGuestOverheadBytes);
  EXPECT_GT(kTrixieGuestOverheadBytes, bookworm);
}

TEST(Budget, EverySupportedReleaseHasAMeasuredOverhead) {
  for (const auto& release : supportedReleases()) {
    const auto measured = std::find_if(std::begin(kGuestOverheads), std::end(kGuestOverheads),
                                       [&](const ReleaseOverhead& o) { return o.release == release; });
    EXPECT_NE(measured, std::end(kGuestOverheads)) << release << " has no measured guest overhead";
  }
  EXPECT_EQ(guestOverheadBytes("trixie"), kTrixieGuestOverheadBytes);
}

TEST(SystemdRunLine, ShowsControlCharactersEscapedNeverRaw) {
  // The parser refuses control characters; a unit built in code still cannot put
  // one on the terminal through the printed line.
  PlannedUnit u;
  u.unit = "w\x1b[2J.service";
  u.properties = {UnitProperty{"RestartSec", "5s\n"}};
  u.exec_start = {"/opt/oomharness/bin/oomstress", "--target", "10M\r"};
  const std::string line = systemdRunLine(u);
  EXPECT_EQ(line, "systemd-run '--unit=w\\x1b[2J.service' -p 'RestartSec=5s\\n' -- "
                  "/opt/oomharness/bin/oomstress --target '10M\\r'");
  for (char c : line) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}
