// The scenario skeleton: it must pass `oomharness check` (parseScenario) as
// written, fit its guest's budget, and carry exactly what was captured.
#include <gtest/gtest.h>

#include "capture/output.hpp"
#include "recorded_capture.hpp"
#include "scenario/budget.hpp"
#include "scenario/parse.hpp"

namespace oom {
namespace {

using test::recordedCapture;

ScenarioCheck parsed(const Skeleton& s) { return parseScenario(s.scenario.dump(2), "captured.json"); }

TEST(CaptureSkeleton, PassesCheckAndFitsItsGuest) {
  const auto skeleton = scenarioSkeleton(recordedCapture());
  ASSERT_TRUE(skeleton) << skeleton.error().str();
  const auto check = parsed(*skeleton);
  ASSERT_TRUE(check.ok()) << check.errors.front().str() << "\n" << skeleton->scenario.dump(2);
  const Scenario& s = *check.scenario;
  EXPECT_EQ(s.name, "captured-web1");
  EXPECT_EQ(s.guest.release, "bookworm");
  const Budget budget = computeBudget(s);
  EXPECT_TRUE(budget.fits()) << budget.explain();
  // Room for pressure on top of the baselines: at least as much again as they hold.
  EXPECT_GE(budget.headroomBytes(), budget.baselines_bytes);
  EXPECT_EQ(s.guest.memory_bytes % (128 * MiB), 0u);
}

TEST(CaptureSkeleton, ServicesCarryTheirSettingsAndMemory) {
  const auto check = parsed(*scenarioSkeleton(recordedCapture()));
  ASSERT_TRUE(check.ok());
  const Scenario& s = *check.scenario;
  ASSERT_EQ(s.services.size(), 3u);  // two captured, one added for the pressure
  const ServiceSpec* worker = s.service("worker");
  ASSERT_TRUE(worker);
  EXPECT_EQ(worker->oomScoreAdjust(), 600);
  EXPECT_EQ(worker->directive("OOMPolicy"), "kill");
  EXPECT_EQ(worker->directive("Restart"), "on-failure");
  EXPECT_EQ(worker->directive("RestartSec"), "5s");
  EXPECT_EQ(worker->directive("KillMode"), "mixed");
  EXPECT_EQ(worker->directive("MemoryMax"), "200M");
  EXPECT_EQ(worker->load->baseline_bytes, 80 * MiB);  // 80M + 12345 bytes, to whole MiB
  EXPECT_EQ(worker->load->processes, 2u);
  EXPECT_NE(worker->why.find("captured: worker.service active/running"), std::string::npos) << worker->why;
  const ServiceSpec* guard = s.service("guard");
  ASSERT_TRUE(guard);
  EXPECT_EQ(guard->oomScoreAdjust(), -1000);
  EXPECT_EQ(guard->load->baseline_bytes, 300 * MiB);
}

TEST(CaptureSkeleton, ExpectationsAreTheCurrentPredictionSaidSo) {
  const auto skeleton = scenarioSkeleton(recordedCapture());
  const auto check = parsed(*skeleton);
  ASSERT_TRUE(check.ok());
  const Scenario& s = *check.scenario;
  EXPECT_EQ(s.expect.first_killed, "worker");  // pid 330, the top oom_score among the services
  EXPECT_EQ(s.expect.never_killed, std::vector<std::string>{"guard"});  // every process -1000
  EXPECT_NE(s.service("worker")->why.find("first_killed: the kernel's likeliest victim now (pid 330, oom_score 712), a prediction to edit"),
            std::string::npos) << s.service("worker")->why;
  EXPECT_NE(s.service("guard")->why.find("never_killed: every process has oom_score_adj -1000"), std::string::npos);
  EXPECT_NE(s.description.find("edit them"), std::string::npos);
}

TEST(CaptureSkeleton, GuestUnitsAndIdleServicesLeftOutAndNamed) {
  HostCapture c = recordedCapture();
  CapturedService journald = c.services[1];
  journald.unit = "systemd-journald.service";
  CapturedService getty = journald;
  getty.unit = "serial-getty@ttyS0.service";
  CapturedService exited = journald;
  exited.unit = "setup.service";
  exited.sub_state = "exited";
  exited.processes = 0;
  CapturedService inactive = journald;
  inactive.unit = "nightly.service";
  inactive.active_state = "inactive";
  c.services.insert(c.services.end(), {journald, getty, exited, inactive});
  const auto skeleton = scenarioSkeleton(c);
  ASSERT_TRUE(skeleton);
  const auto check = parsed(*skeleton);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check.scenario->services.size(), 3u);
  const std::vector<std::string> expected{
      "systemd-journald.service: a unit of every guest (its memory is in the guest overhead)",
      "serial-getty@ttyS0.service: a unit of every guest (its memory is in the guest overhead)",
      "setup.service: no processes (RemainAfterExit or exiting)"};
  EXPECT_EQ(skeleton->left_out, expected);
}

TEST(CaptureSkeleton, TemplateInstancesRenamedAndBaselinesKeptUnderMemoryMax) {
  HostCapture c = recordedCapture();
  c.services[1].unit = "worker@1.service";
  c.services[1].memory_current = 200 * MiB;  // at its MemoryMax=200M: check would refuse the baseline
  for (auto& p : c.victims)
    if (p.unit == "worker.service") p.unit = "worker@1.service";
  const auto skeleton = scenarioSkeleton(c);
  ASSERT_TRUE(skeleton);
  const auto check = parsed(*skeleton);
  ASSERT_TRUE(check.ok()) << check.errors.front().str();
  const ServiceSpec* w = check.scenario->service("worker-1");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->load->baseline_bytes, 199 * MiB);
  EXPECT_NE(w->why.find("renamed from worker@1.service"), std::string::npos) << w->why;
  EXPECT_NE(w->why.find("baseline lowered to 199M, under MemoryMax=200M"), std::string::npos) << w->why;
  EXPECT_EQ(check.scenario->expect.first_killed, "worker-1");
}

TEST(CaptureSkeleton, NoMemoryCurrentFallsBackOnTheProcessesRss) {
  HostCapture c = recordedCapture();
  c.services[1].memory_current.reset();  // worker: MemoryAccounting=no
  c.victims.push_back({331, "worker", 700, 600, 30 * MiB, "/system.slice/worker.service", "worker.service"});
  const auto check = parsed(*scenarioSkeleton(c));
  ASSERT_TRUE(check.ok());
  const ServiceSpec* w = check.scenario->service("worker");
  EXPECT_EQ(w->load->baseline_bytes, 110 * MiB);  // 80M + 30M
  EXPECT_NE(w->why.find("MemoryCurrent unknown, its processes' rss 110MiB"), std::string::npos) << w->why;
}

TEST(CaptureSkeleton, OnlyExemptServicesStillNameAnExpectation) {
  HostCapture c = recordedCapture();
  c.services.erase(c.services.begin() + 1);  // the worker
  c.victims.erase(c.victims.begin());
  const auto check = parsed(*scenarioSkeleton(c));
  ASSERT_TRUE(check.ok());
  EXPECT_FALSE(check.scenario->expect.first_killed);  // nothing the kernel may choose
  EXPECT_EQ(check.scenario->expect.never_killed, std::vector<std::string>{"guard"});
}

TEST(CaptureSkeleton, NothingToCaptureIsAnErrorNotAnEmptyScenario) {
  HostCapture c = recordedCapture();
  for (auto& s : c.services) s.unit = "systemd-" + s.unit;
  const auto skeleton = scenarioSkeleton(c);
  ASSERT_FALSE(skeleton);
  EXPECT_NE(skeleton.error().message.find("nothing to put in a scenario"), std::string::npos);
}

TEST(CaptureSkeleton, TrixieHostGivesATrixieGuest) {
  HostCapture c = recordedCapture();
  c.os_codename = "trixie";
  EXPECT_EQ(scenarioSkeleton(c)->scenario["guest"]["release"], "trixie");
  c.os_codename = "jammy";  // not a guest release oomharness has: the default
  EXPECT_EQ(scenarioSkeleton(c)->scenario["guest"]["release"], "bookworm");
}


// The skeleton runs as written: one added service grows until the kernel must choose,
// kept out of the choice, within the guest's room and the time limit.
TEST(CaptureSkeleton, AnAddedPressureServiceGrowsUntilTheKernelMustChoose) {
  const auto check = parsed(*oom::scenarioSkeleton(oom::test::recordedCapture()));
  ASSERT_TRUE(check.ok());
  const oom::Scenario& s = *check.scenario;
  const oom::ServiceSpec* pressure = s.service("added-pressure");
  ASSERT_TRUE(pressure);
  EXPECT_EQ(pressure->oomScoreAdjust(), -900);
  ASSERT_GT(pressure->load->leak_bytes_per_sec, 0u);
  const oom::Budget budget = oom::computeBudget(s);
  // It fills the room left within the time limit, with time to spare for the kill.
  EXPECT_LT(static_cast<double>(budget.headroomBytes()) / static_cast<double>(pressure->load->leak_bytes_per_sec),
            s.time_limit_sec / 2);
  EXPECT_TRUE(s.expect.first_killed.has_value());
  EXPECT_NE(*s.expect.first_killed, "added-pressure");
}

}  // namespace
}  // namespace oom
