// A service's container from a Quadlet file (docs/containers.md, "From a Quadlet
// file"): read below the scenario's folder, its [Service] merged and cited with file
// and line, its [Container] read for podman run's settings, and planned as the two
// files Quadlet's generator reads (the user's and the harness drop-in).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "error_text.hpp"
#include "oom/guest_paths.hpp"
#include "plan/planner.hpp"
#include "scenario/parse.hpp"
#include "scenario/quadlet.hpp"
#include "scenario/unit_lint.hpp"

using namespace oom;
using oomtest::errorsOf;
namespace fs = std::filesystem;

namespace {

const SettingOrigin* find(const std::vector<SettingOrigin>& list, const std::string& directive) {
  for (const auto& o : list)
    if (o.directive == directive) return &o;
  return nullptr;
}

class QuadletParse : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oomharness-quadlet-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "quadlet");
  }
  void TearDown() override { fs::remove_all(dir_); }

  ScenarioCheck parse(const std::string& file_text, const std::string& container = R"({"quadlet": "quadlet/w.container"})",
                      const std::string& release = "trixie", const std::string& extra = "",
                      const std::string& packages = R"(["podman"])") {
    std::ofstream(dir_ / "quadlet/w.container") << file_text;
    const std::string text =
        R"({"name": "q", "description": "d", "guest": {"release": ")" + release +
        R"(", "packages": )" + packages + R"(}, "services": [{"name": "worker", "why": "w", "container": )" + container +
        extra + R"(, "load": {"baseline": "32M", "leak": "16M/s"}}], "expect": {"never_killed": ["worker"]}})";
    ScenarioSources sources;
    sources.base_dir = dir_;
    return parseScenario(text, "s.json", sources);
  }

  fs::path dir_;
};

}  // namespace

// The shipped scenario: what its file says, with where it says it.
TEST(QuadletShipped, ItsContainerAndServiceSettingsComeFromTheFileWithTheirLines) {
  const auto c = loadScenarioFile(fs::path(OOM_SOURCE_DIR) / "scenarios/containers/quadlet-limit-decides.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const ServiceSpec& w = *c.scenario->service("worker");
  ASSERT_TRUE(w.container && w.container->fromQuadlet());
  const ContainerSpec& ct = *w.container;
  EXPECT_EQ(ct.memory_bytes, 96u * 1024 * 1024);
  EXPECT_EQ(ct.memory_swap_bytes, 96u * 1024 * 1024);
  EXPECT_EQ(ct.cgroups, kContainerCgroupsSplit);  // Quadlet's default
  const std::string file = (fs::path(OOM_SOURCE_DIR) / "scenarios/containers/quadlet/worker.container").string();
  EXPECT_EQ(ct.origins.at("--memory"), file + ":12");
  EXPECT_EQ(w.directive("Restart"), "on-failure");
  ASSERT_TRUE(w.files.has_value());
  const SettingOrigin* restart = find(w.files->effective, "Restart");
  ASSERT_NE(restart, nullptr);
  EXPECT_EQ(restart->where, file + ":16");
  EXPECT_NE(find(w.files->quadlet, "PodmanArgs"), nullptr);
  EXPECT_NE(find(w.files->neutralized, "Image"), nullptr);
  EXPECT_NE(find(w.files->neutralized, "Exec"), nullptr);
  EXPECT_EQ(find(w.files->passed_through, "PodmanArgs"), nullptr);  // Quadlet's, not systemd's

  const auto plan = makeGuestPlan(*c.scenario);
  ASSERT_TRUE(plan.has_value());
  const PlannedUnit& u = plan->units[0];
  EXPECT_TRUE(u.fromQuadlet());
  // The generator writes the unit's command; exec_start is what the container runs.
  ASSERT_FALSE(u.exec_start.empty());
  EXPECT_EQ(u.exec_start.front(), guest::kContainerStressorPath);
  EXPECT_EQ(u.systemd_run.find("podman run"), std::string::npos) << u.systemd_run;
  ASSERT_EQ(u.files.files.size(), 2u);
  EXPECT_EQ(u.files.files[0].guest_path, std::string(guest::kQuadletDir) + "/worker.container");
  const InstalledFile& dropin = u.files.files[1];
  EXPECT_EQ(dropin.guest_path, std::string(guest::kQuadletDir) + "/worker.container.d/" + kHarnessDropInName);
  EXPECT_NE(dropin.text.find(std::string("Image=") + guest::kContainerImage + "\n"), std::string::npos) << dropin.text;
  EXPECT_NE(dropin.text.find("Exec=/oomstress --target 32M --leak --rate 16M/s"), std::string::npos) << dropin.text;
  EXPECT_NE(dropin.text.find("Label=oomharness.service=worker\n"), std::string::npos) << dropin.text;
  EXPECT_NE(dropin.text.find("Notify=true\n"), std::string::npos) << dropin.text;
  EXPECT_EQ(u.container.memory_bytes, 96u * 1024 * 1024);
  EXPECT_EQ(u.container.cgroups, kContainerCgroupsSplit);
}

TEST_F(QuadletParse, PodmansSpellingsOfTheSettingsAreRead) {
  const auto c = parse("[Container]\nImage=x\nPodmanArgs=-m 1g --oom-score-adj 300 --restart=on-failure:2\n"
                       "PodmanArgs=--memory-swap 2g\nCgroupsMode=enabled\n[Service]\nOOMScoreAdjust=-100\n");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const ContainerSpec& ct = *c.scenario->services[0].container;
  EXPECT_EQ(ct.memory_bytes, 1024u * 1024 * 1024);
  EXPECT_EQ(ct.memory_swap_bytes, 2048u * 1024 * 1024);
  EXPECT_EQ(ct.oom_score_adj, 300);
  EXPECT_EQ(ct.restart, "on-failure:2");
  EXPECT_EQ(ct.cgroups, kContainerCgroupsEnabled);
  EXPECT_EQ(c.scenario->services[0].directive("OOMScoreAdjust"), "-100");
  const std::string file = (dir_ / "quadlet/w.container").string();
  EXPECT_EQ(ct.origins.at("--memory-swap"), file + ":4");
  EXPECT_EQ(ct.origins.at("--cgroups"), file + ":5");
}

// Network= and PublishPort= are the file's; without either the harness gives it none.
TEST_F(QuadletParse, TheFilesNetworkIsTheContainersAndTheDropInKeepsIt) {
  const std::string file = (dir_ / "quadlet/w.container").string();
  const std::string nft = R"(["nftables", "podman"])";
  const auto published = parse("[Container]\nImage=x\nPublishPort=127.0.0.1:8080:8080\nPublishPort=9000:9000\n",
                               R"({"quadlet": "quadlet/w.container"})", "trixie", "", nft);
  ASSERT_TRUE(published.ok()) << errorsOf(published);
  const ContainerSpec& ct = *published.scenario->services[0].container;
  EXPECT_EQ(ct.network, kContainerNetworkBridge) << "PublishPort= without Network=: Podman's default network";
  ASSERT_EQ(ct.publish.size(), 2u);
  EXPECT_EQ(ct.publish[0].text(), "127.0.0.1:8080:8080");
  EXPECT_EQ(ct.origins.at("--publish"), file + ":4");
  const auto plan = makeGuestPlan(*published.scenario);
  ASSERT_TRUE(plan.has_value());
  const PlannedUnit& u = plan->units[0];
  EXPECT_EQ(u.container.network, kContainerNetworkBridge);
  EXPECT_EQ(u.container.publish, (std::vector<std::string>{"127.0.0.1:8080:8080", "9000:9000"}));
  const auto dropIn = [](const PlannedUnit& unit) {
    for (const auto& f : unit.files.files)
      if (f.guest_path == quadletDropInPath("worker")) return f.text;
    return std::string("(no drop-in)");
  };
  EXPECT_EQ(dropIn(u).find("Network="), std::string::npos) << dropIn(u);

  const auto host = parse("[Container]\nNetwork=host\n");
  ASSERT_TRUE(host.ok()) << errorsOf(host);
  EXPECT_EQ(host.scenario->services[0].container->network, kContainerNetworkHost);
  EXPECT_EQ(dropIn(makeGuestPlan(*host.scenario)->units[0]).find("Network="), std::string::npos);

  // Neither: no network, as before (and as a podman run service has by default).
  const auto none = parse("[Container]\nImage=x\n");
  ASSERT_TRUE(none.ok()) << errorsOf(none);
  EXPECT_EQ(none.scenario->services[0].container->network, kContainerNetworkNone);
  EXPECT_NE(dropIn(makeGuestPlan(*none.scenario)->units[0]).find("\nNetwork=none\n"), std::string::npos);

  const std::pair<ScenarioCheck, std::string> bad[] = {
      {parse("[Container]\nPublishPort=8080:8080\n"),
       "Podman's bridge on trixie (netavark) runs nft, which the guest image has only with nftables"},
      {parse("[Container]\nPublishPort=8080\n", R"({"quadlet": "quadlet/w.container"})", "trixie", "", nft),
       file + ":2: PublishPort=8080: expected HOSTPORT:CONTAINERPORT or IPV4:HOSTPORT:CONTAINERPORT"},
      {parse("[Container]\nNetwork=host\nPublishPort=8080:8080\n"),
       file + ":3: PublishPort= publishes on Podman's bridge network only; expected no Network= or Network=bridge, "
              "not Network=host"},
      {parse("[Container]\nNetwork=backend.network\n"),
       file + ":2: Network=backend.network: expected none, host, bridge or podman"},
      {parse("[Container]\nPublishPort=8080:8080\nPublishPort=8080:9090\n", R"({"quadlet": "quadlet/w.container"})",
             "trixie", "", nft),
       "$.services[0].container.quadlet: port 8080 of the guest is already taken by PublishPort=8080:8080 of " +
           file},
      {parse("[Container]\n", R"({"quadlet": "quadlet/w.container", "publish": ["8080:8080"]})"),
       "$.services[0].container.publish: comes from the Quadlet file"},
  };
  for (const auto& [c, error] : bad) {
    EXPECT_FALSE(c.ok()) << error;
    EXPECT_NE(errorsOf(c).find(error), std::string::npos) << "expected: " << error << "\ngot:\n" << errorsOf(c);
  }
}

TEST_F(QuadletParse, BadFilesAndSettingsNameTheFileLineAndWhatWasExpected) {
  const std::string file = (dir_ / "quadlet/w.container").string();
  const std::vector<std::pair<ScenarioCheck, std::string>> cases = [&] {
    std::vector<std::pair<ScenarioCheck, std::string>> v;
    v.emplace_back(parse("[Container]\nPodmanArgs=--memory=lots\n"),
                   file + ":2: PodmanArgs= --memory=lots: expected a size as Podman reads it");
    v.emplace_back(parse("[Container]\nPodmanArgs=--oom-score-adj=2000\n"),
                   file + ":2: PodmanArgs= --oom-score-adj=2000: expected an integer from -1000 to 1000");
    v.emplace_back(parse("[Container]\nPodmanArgs=--memory=4m\n"), file + ":2: PodmanArgs= --memory 4MiB: expected at least 6MiB");
    v.emplace_back(parse("[Container]\nPodmanArgs=--memory=64m --memory-swap=32m\n"),
                   "--memory-swap 32MiB: expected --memory too, and at least as much");
    v.emplace_back(parse("[Container]\nPodmanArgs=--memory=16m\n"),
                   "$.services[0].load.baseline: baseline 32MiB does not fit under the container's memory 16MiB");
    v.emplace_back(parse("[Container]\nPodmanArgs=--cgroups=enabled\n"), "expected CgroupsMode= in [Container]");
    v.emplace_back(parse("[Container]\nCgroupsMode=no-conmon\n"),
                   file + ":2: CgroupsMode=no-conmon: expected split (Quadlet's default) or enabled");
    // Options that would change the network, the command or the pod behind the plan's back.
    for (const char* arg : {"--network=host", "--net host", "-p 8080:8080", "-p8080:8080", "--publish=1:1", "-P"})
      v.emplace_back(parse(std::string("[Container]\nPodmanArgs=--memory=64m ") + arg + "\n"),
                     file + ":2: PodmanArgs= " + std::string(arg).substr(0, std::string(arg).find(' ')) +
                         ": the network is [Container]'s Network= and PublishPort=, which oomharness reads");
    v.emplace_back(parse("[Container]\nPodmanArgs=--entrypoint=/bin/sh\n"),
                   file + ":2: PodmanArgs= --entrypoint=/bin/sh: oomharness runs its load as the container's command");
    v.emplace_back(parse("[Container]\nPodmanArgs=--pod=web\n"), file + ":2: PodmanArgs= --pod=web: a pod is not set up");
    v.emplace_back(parse("[Unit]\nDescription=x\n"), "has no [Container] section");
    v.emplace_back(parse("[Container]\n[Service]\nOOMScoreAdjust=5000\n"), file + ":3: OOMScoreAdjust=5000");
    v.emplace_back(parse("[Container]\n", R"({"quadlet": "quadlet/w.container"})", "bookworm"),
                   "$.services[0].container.quadlet: needs Quadlet, which Podman has from 4.4 on; bookworm's guest "
                   "has 4.3.1: expected \"release\": \"trixie\" in $.guest");
    v.emplace_back(parse("[Container]\n", R"({"quadlet": "quadlet/w.container", "memory": "64M"})"),
                   "$.services[0].container.memory: comes from the Quadlet file");
    v.emplace_back(parse("[Container]\n", R"({"quadlet": "../w.container"})"), "leaves the scenario's folder");
    v.emplace_back(parse("[Container]\n", R"({"quadlet": "quadlet/w.service"})"),
                   "expected the path of a Quadlet file, NAME.container");
    v.emplace_back(parse("[Container]\n", R"({"quadlet": "quadlet/missing.container"})"), "missing.container");
    v.emplace_back(parse("[Container]\n", R"({"quadlet": "quadlet/w.container"})", "trixie",
                         R"(, "unit": {"Restart": "always"})"),
                   "$.services[0].unit: the unit is the one Quadlet generates from quadlet/w.container");
    return v;
  }();
  for (const auto& [c, error] : cases) {
    EXPECT_FALSE(c.ok()) << error;
    EXPECT_NE(errorsOf(c).find(error), std::string::npos) << "expected: " << error << "\ngot:\n" << errorsOf(c);
  }
}

TEST(PodmanSize, ReadAsPodmanReadsIt) {
  EXPECT_EQ(parsePodmanSize("96m").value(), 96u * 1024 * 1024);
  EXPECT_EQ(parsePodmanSize("96M").value(), 96u * 1024 * 1024);
  EXPECT_EQ(parsePodmanSize("96MB").value(), 96u * 1024 * 1024);
  EXPECT_EQ(parsePodmanSize("96mib").value(), 96u * 1024 * 1024);
  EXPECT_EQ(parsePodmanSize("1g").value(), 1024u * 1024 * 1024);
  EXPECT_EQ(parsePodmanSize("4096").value(), 4096u);
  EXPECT_EQ(parsePodmanSize("512b").value(), 512u);
  for (const char* bad : {"", "m", "96x", "96 mm", "-1m", "1p"}) EXPECT_FALSE(parsePodmanSize(bad)) << bad;
}

// `oomharness lint` on a scenario lints its Quadlet file as the unit's file: a finding
// names the Quadlet file and line.
TEST_F(QuadletParse, LintReadsTheQuadletFilesServiceSection) {
  std::ofstream(dir_ / "quadlet/w.container") << "[Container]\nImage=x\n[Service]\nOOMScoreAdjust=-1000\n";
  std::ofstream(dir_ / "s.json")
      << R"({"name": "q", "description": "d", "guest": {"release": "trixie", "packages": ["podman"]},
            "services": [{"name": "worker", "why": "w", "container": {"quadlet": "quadlet/w.container"},
                          "load": {"baseline": "32M"}}], "expect": {"never_killed": ["worker"]}})";
  const auto findings = lintScenarioAt(dir_ / "s.json");
  const auto it = std::find_if(findings.begin(), findings.end(),
                               [](const LintFinding& f) { return f.rule == "oom-score-adjust-min"; });
  ASSERT_NE(it, findings.end());
  EXPECT_EQ(it->at.file, (dir_ / "quadlet/w.container").string());
  EXPECT_EQ(it->at.line, 4u);
}
