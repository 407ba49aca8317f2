// A service's `container` (docs/containers.md): read, refused with the field and what
// was expected, and planned as the podman run the unit executes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "error_text.hpp"
#include "plan/planner.hpp"
#include "scenario/budget.hpp"
#include "scenario/parse.hpp"

using namespace oom;
using oomtest::errorsOf;

namespace {

// A worker in a container next to a plain api; `edit` changes the document first.
nlohmann::json document(const std::function<void(nlohmann::json&)>& edit = {}) {
  auto doc = nlohmann::json::parse(R"({
    "name": "c", "description": "d",
    "guest": {"memory": "1G", "packages": ["podman"]},
    "services": [
      {"name": "worker", "why": "y", "container": {"memory": "96M", "memory_swap": "96M", "oom_score_adj": 700,
                                                    "restart": "on-failure:3", "cgroups": "split"},
       "unit": {"Restart": "on-failure"}, "load": {"baseline": "32M", "leak": "16M/s"}},
      {"name": "api", "why": "y", "load": {"baseline": "100M"}}],
    "expect": {"units": {"worker": {"decided_by": "container", "oom_killed": true}}}
  })");
  if (edit) edit(doc);
  return doc;
}

ScenarioCheck parse(const nlohmann::json& doc) { return parseScenario(doc.dump(), "c.json"); }

nlohmann::json& container(nlohmann::json& doc) { return doc["services"][0]["container"]; }

}  // namespace

TEST(ContainerParse, IsReadAndPlannedAsThePodmanRunOfTheUnit) {
  const auto c = parse(document());
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const ServiceSpec& w = c.scenario->services[0];
  ASSERT_TRUE(w.container.has_value());
  EXPECT_EQ(w.container->memory_bytes, 96u * 1024 * 1024);
  EXPECT_EQ(w.container->oom_score_adj, 700);
  EXPECT_EQ(w.container->restart, "on-failure:3");
  EXPECT_EQ(w.container->cgroups, kContainerCgroupsSplit);
  EXPECT_FALSE(c.scenario->services[1].container.has_value());

  const auto plan = makeGuestPlan(*c.scenario);
  ASSERT_TRUE(plan.has_value());
  const PlannedUnit& u = plan->units[0];
  ASSERT_TRUE(u.inContainer());
  EXPECT_FALSE(plan->units[1].inContainer());
  const std::vector<std::string> want = {
      guest::kPodmanPath, "run", "--sdnotify=container", "--network=none", "--pull=never", "--cgroups=split",
      std::string("--label=") + guest::kContainerServiceLabel + "=worker", "--memory=96M", "--memory-swap=96M",
      "--oom-score-adj=700", "--restart=on-failure:3", guest::kContainerImage, guest::kContainerStressorPath,
      "--target", "32M", "--leak", "--rate", "16M/s"};
  ASSERT_GE(u.exec_start.size(), want.size());
  EXPECT_EQ(std::vector<std::string>(u.exec_start.begin(), u.exec_start.begin() + static_cast<long>(want.size())), want);
  // READY=1 comes from the container's process; split cgroups need delegation.
  const auto has = [&](const char* name, const char* value) {
    return std::any_of(u.properties.begin(), u.properties.end(),
                       [&](const UnitProperty& p) { return p.name == name && p.value == value; });
  };
  EXPECT_TRUE(has("Type", "notify"));
  EXPECT_TRUE(has("NotifyAccess", "all"));
  EXPECT_TRUE(has("Delegate", "yes"));
  EXPECT_EQ(u.container.memory_bytes, 96u * 1024 * 1024);
  EXPECT_EQ(u.container.oom_score_adj, "700");
  // The line people paste runs the same thing.
  EXPECT_NE(u.systemd_run.find("-p NotifyAccess=all"), std::string::npos) << u.systemd_run;
  EXPECT_NE(u.systemd_run.find("/usr/bin/podman run"), std::string::npos) << u.systemd_run;
}

TEST(ContainerParse, PodmansDefaultsWhenUnset) {
  const auto c = parse(document([](nlohmann::json& d) { container(d) = {{"memory", "64M"}}; }));
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const auto plan = makeGuestPlan(*c.scenario);
  const PlannedUnit& u = plan->units[0];
  const std::string line = u.systemd_run;
  EXPECT_NE(line.find("--cgroups=enabled"), std::string::npos) << line;
  EXPECT_NE(line.find("--restart=no"), std::string::npos) << line;
  EXPECT_EQ(line.find("--oom-score-adj"), std::string::npos) << line;
  EXPECT_EQ(line.find("--memory-swap"), std::string::npos) << line;
  EXPECT_EQ(line.find("Delegate"), std::string::npos) << line;
}

TEST(ContainerParse, BadSettingsNameTheFieldAndWhatWasExpected) {
  const std::pair<std::function<void(nlohmann::json&)>, std::string> cases[] = {
      {[](nlohmann::json& d) { d["guest"].erase("packages"); },
       "$.services[0].container: runs the load in a container, which needs Podman in the guest: expected \"podman\" in $.guest.packages"},
      {[](nlohmann::json& d) { container(d)["memory"] = "4M"; },
       "$.services[0].container.memory: expected a size from 6MiB (Podman's minimum)"},
      {[](nlohmann::json& d) { container(d)["memory_swap"] = "64M"; },
       "$.services[0].container.memory_swap: expected at least memory, 96MiB"},
      {[](nlohmann::json& d) { container(d).erase("memory"); },
       "$.services[0].container.memory_swap: needs \"memory\" too"},
      {[](nlohmann::json& d) { container(d)["oom_score_adj"] = 1001; },
       "$.services[0].container.oom_score_adj: expected an integer from -1000 to 1000; got 1001"},
      {[](nlohmann::json& d) { container(d)["restart"] = "sometimes"; },
       "$.services[0].container.restart: expected one of no, on-failure, on-failure:N, always, unless-stopped"},
      {[](nlohmann::json& d) { container(d)["cgroups"] = "disabled"; },
       "$.services[0].container.cgroups: expected one of enabled"},
      // An image of a registry is not pulled (no network): it comes from an archive or not at all.
      {[](nlohmann::json& d) { container(d)["image"] = "docker.io/library/nginx"; },
       "$.services[0].container.archive: expected the docker-archive that holds \"docker.io/library/nginx\""},
      {[](nlohmann::json& d) { container(d)["ports"] = 80; }, "$.services[0].container.ports: unknown key"},
      {[](nlohmann::json& d) { d["services"][0]["load"]["baseline"] = "100M"; },
       "$.services[0].load.baseline: baseline 100MiB does not fit under the container's memory 96MiB"},
      {[](nlohmann::json& d) { d["expect"]["units"]["api"] = {{"oom_killed", false}}; },
       "$.expect.units.api.oom_killed: is about a container, and \"api\" runs in none"},
      {[](nlohmann::json& d) { d["expect"]["units"]["api"] = {{"decided_by", "container"}}; },
       "$.expect.units.api.decided_by: expects the container's limit to decide, but \"api\" runs in no container"},
      {[](nlohmann::json& d) { d["expect"]["units"]["worker"]["decided_by"] = "podman"; },
       "$.expect.units.worker.decided_by: expected one of container"},
      {[](nlohmann::json& d) { d["expect"]["units"]["worker"]["decided_by"] = "systemd-oomd"; },
       "expects systemd-oomd, which this scenario does not enable"},
      {[](nlohmann::json& d) { d["expect"]["units"]["worker"]["restarted_by"] = "kubelet"; },
       "$.expect.units.worker.restarted_by: expected one of systemd, podman, both, neither; got \"kubelet\""},
      {[](nlohmann::json& d) {
         container(d)["restart"] = "no";
         d["expect"]["units"]["worker"]["restarted_by"] = "both";
       },
       "$.expect.units.worker.restarted_by: expects Podman to restart it, but its container.restart is \"no\""},
      {[](nlohmann::json& d) {
         d["services"][0]["unit"].erase("Restart");
         d["expect"]["units"]["worker"]["restarted_by"] = "systemd";
       },
       "$.expect.units.worker.restarted_by: expects systemd to restart it, but its unit sets no Restart="},
      {[](nlohmann::json& d) { d["expect"]["units"]["api"] = {{"restarted_by", "systemd"}}; },
       "$.expect.units.api.restarted_by: is about a container's restarts, and \"api\" runs in none"},
  };
  for (const auto& [edit, error] : cases) {
    const auto c = parse(document(edit));
    EXPECT_FALSE(c.ok()) << error;
    EXPECT_NE(errorsOf(c).find(error), std::string::npos) << "expected: " << error << "\ngot:\n" << errorsOf(c);
  }
  // A container's limit that was never set cannot decide.
  const auto none = parse(document([](nlohmann::json& d) { container(d) = nlohmann::json::object(); }));
  EXPECT_NE(errorsOf(none).find("'s container has none (set container.memory)"), std::string::npos) << errorsOf(none);
}

TEST(ContainerParse, TheRuntimeInTheUnitIsInTheMemoryBudget) {
  const auto c = parse(document());
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const Budget b = computeBudget(*c.scenario);
  EXPECT_EQ(b.runtime_bytes, kContainerRuntimeBytes);  // one service in a container
  EXPECT_NE(b.explain().find("+ container runtime 25MiB +"), std::string::npos) << b.explain();
  // A guest it no longer fits: refused before anything starts, the runtime named.
  const auto tight = parse(document([](nlohmann::json& d) {
    d["guest"]["memory"] = "420M";
    d["services"][1]["load"]["baseline"] = "120M";
  }));
  EXPECT_NE(errorsOf(tight).find("container runtime 25MiB"), std::string::npos) << errorsOf(tight);
}
