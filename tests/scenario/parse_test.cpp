#include "scenario/parse.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <tuple>

#include "plan/planner.hpp"
#include "error_text.hpp"

using namespace oom;
namespace fs = std::filesystem;

using oomtest::errorsOf;

namespace {
const fs::path kSource = OOM_SOURCE_DIR;

const char* kMinimal = R"({
  "name": "mini", "description": "d",
  "services": [{"name": "w", "why": "y", "load": {"baseline": "10M"}}],
  "expect": {"never_killed": ["w"]}
})";
}  // namespace

TEST(ScenarioParse, EveryShippedScenarioIsValid) {
  int n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kSource / "scenarios")) {
    if (entry.path().extension() != ".json" || entry.path().parent_path().filename() == "schema")
      continue;
    auto c = loadScenarioFile(entry.path());
    EXPECT_TRUE(c.ok()) << entry.path() << "\n" << errorsOf(c);
    ++n;
  }
  EXPECT_GE(n, 8);
}

TEST(ScenarioParse, ThreeServicesIsReadAsWritten) {
  auto c = loadScenarioFile(kSource / "scenarios/three-services.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const Scenario& s = *c.scenario;
  EXPECT_EQ(s.name, "three-services");
  ASSERT_EQ(s.services.size(), 3u);
  EXPECT_EQ(s.services[0].name, "api");
  EXPECT_EQ(s.services[0].oomScoreAdjust(), -300);
  EXPECT_EQ(s.services[0].load->processes, 2u);
  EXPECT_EQ(s.services[0].load->baseline_bytes, 150u * 1024 * 1024);
  ASSERT_EQ(s.services[0].unit.size(), 4u);
  EXPECT_EQ(s.services[0].unit[1].name, "OOMPolicy");  // file order kept
  EXPECT_EQ(s.services[2].load->leak_bytes_per_sec, 20u * 1024 * 1024);
  EXPECT_EQ(s.expect.first_killed, "report-worker");
  const UnitExpectation* w = s.expect.unit("report-worker");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->restarts->min, 1u);
  EXPECT_EQ(w->restarts->max, 5u);
  EXPECT_EQ(w->Result, "oom-kill");
  EXPECT_EQ(s.expect.unit("api")->oom_kills->max, 0u);
  EXPECT_TRUE(c.warnings.empty());
}

TEST(ScenarioParse, DefaultsApplyWhenOmitted) {
  auto c = parseScenario(kMinimal, "mini.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  EXPECT_EQ(c.scenario->guest.release, "bookworm");
  EXPECT_EQ(c.scenario->guest.memory_bytes, 1024u * 1024 * 1024);
  EXPECT_EQ(c.scenario->time_limit_sec, 120);
  EXPECT_EQ(c.scenario->settle_sec, 10);
  EXPECT_EQ(c.scenario->services[0].load->processes, 1u);
  EXPECT_DOUBLE_EQ(c.scenario->services[0].restartSec(), 0.1);  // systemd's RestartSec= default
}

TEST(ScenarioParse, ZramSwapAndCompressibleLoadsAreReadAndPlanned) {
  auto c = loadScenarioFile(kSource / "scenarios/zram-compressible.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  EXPECT_EQ(c.scenario->guest.swap_kind, "zram");
  EXPECT_EQ(c.scenario->services[0].load->compress_ratio, 3u);
  EXPECT_EQ(c.scenario->services[1].load->compress_ratio, 1u);  // the default: incompressible
  auto plain = parseScenario(kMinimal, "mini.json");
  EXPECT_EQ(plain.scenario->guest.swap_kind, "disk");
  // zram with no size, an unknown kind, a ratio out of range: errors naming the field.
  for (const auto& [guest, load, field] :
       {std::tuple{R"({"swap_kind": "zram"})", R"({"baseline": "10M"})", "$.guest.swap_kind"},
        std::tuple{R"({"swap": "256M", "swap_kind": "zswap"})", R"({"baseline": "10M"})", "$.guest.swap_kind"},
        std::tuple{R"({})", R"({"baseline": "10M", "compress_ratio": 0})", "$.services[0].load.compress_ratio"},
        std::tuple{R"({})", R"({"baseline": "10M", "compress_ratio": 17})", "$.services[0].load.compress_ratio"}}) {
    const std::string doc = std::string(R"({"name": "z", "description": "d", "guest": )") + guest +
                            R"(, "services": [{"name": "w", "why": "y", "load": )" + load +
                            R"(}], "expect": {"never_killed": ["w"]}})";
    auto bad = parseScenario(doc, "z.json");
    ASSERT_FALSE(bad.ok()) << doc;
    EXPECT_NE(bad.errors.front().str().find(field), std::string::npos) << errorsOf(bad);
  }
}

TEST(ScenarioParse, NumbersAndStringsBothWorkForDirectives) {
  auto c = parseScenario(R"({"name": "n", "description": "d",
    "services": [{"name": "w", "why": "y", "unit": {"OOMScoreAdjust": "250", "RestartSec": 5},
                  "load": {"baseline": 1048576}}], "expect": {"never_killed": ["w"]}})", "n.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  EXPECT_EQ(c.scenario->services[0].oomScoreAdjust(), 250);
  EXPECT_EQ(*c.scenario->services[0].directive("RestartSec"), "5");
  EXPECT_DOUBLE_EQ(c.scenario->services[0].restartSec(), 5.0);
}

TEST(ScenarioParse, ASupervisorIsAProcessOfTheUnitAndNeverWithACheckpoint) {
  auto c = parseScenario(R"({"name": "n", "description": "d",
    "services": [{"name": "w", "why": "y", "unit": {"OOMScoreAdjust": 100, "OOMPolicy": "continue", "Restart": "always"},
                  "load": {"baseline": "10M", "supervisor": true}}], "expect": {"never_killed": ["w"]}})", "n.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  EXPECT_TRUE(c.scenario->services[0].load->supervisor);
  EXPECT_EQ(c.scenario->services[0].load->processes, 1u);
  // One worker and its master: a kill of the worker can leave the master running alone.
  std::string all;
  for (const auto& w : c.warnings) all += w.str() + "\n";
  EXPECT_NE(all.find("$.services[0].unit.OOMPolicy: OOMPolicy=continue on a service with 2 processes"),
            std::string::npos) << all;

  auto both = parseScenario(R"({"name": "n", "description": "d",
    "services": [{"name": "w", "why": "y", "unit": {"Restart": "always"},
                  "load": {"baseline": "10M", "supervisor": true, "checkpoint": true}}], "expect": {"never_killed": ["w"]}})",
                            "both.json");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(errorsOf(both).find("$.services[0].load.supervisor"), std::string::npos) << errorsOf(both);
  EXPECT_NE(errorsOf(both).find("checkpoint"), std::string::npos) << errorsOf(both);
  auto typed = parseScenario(R"({"name": "n", "description": "d",
    "services": [{"name": "w", "why": "y", "load": {"baseline": "10M", "supervisor": "yes"}}], "expect": {"never_killed": ["w"]}})",
                             "typed.json");
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(errorsOf(typed).find("$.services[0].load.supervisor"), std::string::npos) << errorsOf(typed);
}

TEST(ScenarioParse, WarnsAboutCommonBadConfigurations) {
  auto c = parseScenario(R"({"name": "n", "description": "d",
    "services": [
      {"name": "a", "why": "y", "unit": {"OOMScoreAdjust": -1000}, "load": {"baseline": "10M"}},
      {"name": "b", "why": "y", "unit": {"OOMScoreAdjust": -10, "OOMPolicy": "continue"},
       "load": {"baseline": "10M", "processes": 3}}],
    "expect": {"never_killed": ["a"]}})", "n.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  std::string all;
  for (const auto& w : c.warnings) all += w.str() + "\n";
  EXPECT_NE(all.find("every service has a negative OOMScoreAdjust"), std::string::npos) << all;
  EXPECT_NE(all.find("OOMScoreAdjust=-1000"), std::string::npos) << all;
  EXPECT_NE(all.find("$.services[1].unit.OOMPolicy: OOMPolicy=continue on a service with 3"), std::string::npos) << all;

  auto p = parseScenario(R"({"name": "n", "description": "d",
    "services": [{"name": "a", "why": "y", "unit": {"OOMScoreAdjust": 500}, "load": {"baseline": "10M"}}],
    "expect": {"never_killed": ["a"]}})", "p.json");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].message.find("without Restart="), std::string::npos);
}

TEST(ScenarioParse, CollectsEveryErrorNotJustTheFirst) {
  auto c = loadScenarioFile(kSource / "tests/scenario/bad/many-errors.json");
  EXPECT_GE(c.errors.size(), 4u) << errorsOf(c);
  EXPECT_FALSE(c.scenario);
}

TEST(ScenarioParse, SyntaxErrorGivesLineAndColumn) {
  auto c = parseScenario("{\n  \"name\": \"x\",,\n}", "x.json");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].where, "x.json:2:15: $") << c.errors[0].str();
}

TEST(ScenarioParse, MissingFileIsAnError) {
  auto c = loadScenarioFile("/nonexistent/x.json");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].str().find("cannot read"), std::string::npos);
}

TEST(ScenarioParse, SystemdOomdSettingsAreCheckedAndBecomeItsConfiguration) {
  auto with = [](const std::string& oomd, const std::string& expect = R"({"never_killed": ["w"]})") {
    return parseScenario(R"({"name": "o", "description": "d", "systemd_oomd": )" + oomd +
                             R"(, "services": [{"name": "w", "why": "y", "load": {"baseline": "10M"}}], "expect": )" +
                             expect + "}",
                         "o.json");
  };
  const auto ok = with(R"({"SwapUsedLimit": "80%", "DefaultMemoryPressureLimit": "12.5%",
                          "DefaultMemoryPressureDurationSec": "20s"})");
  ASSERT_TRUE(ok.ok()) << errorsOf(ok);
  ASSERT_TRUE(ok.scenario->oomd.has_value());
  EXPECT_EQ(ok.scenario->oomd->confText(),
            "[OOM]\nSwapUsedLimit=80%\nDefaultMemoryPressureLimit=12.5%\nDefaultMemoryPressureDurationSec=20s\n");
  EXPECT_TRUE(with("{}").ok());  // enabled with oomd's defaults
  const auto bad = with(R"({"SwapUsedLimit": "120%", "DefaultMemoryPressureDurationSec": "500ms", "Nope": 1})");
  ASSERT_EQ(bad.errors.size(), 3u) << errorsOf(bad);
  EXPECT_NE(errorsOf(bad).find("$.systemd_oomd.SwapUsedLimit: expected a percentage"), std::string::npos);
  EXPECT_NE(errorsOf(bad).find("$.systemd_oomd.DefaultMemoryPressureDurationSec: expected at least 1s"),
            std::string::npos);
  // killed_by systemd-oomd needs oomd enabled.
  const auto no_oomd = parseScenario(
      R"({"name": "o", "description": "d", "services": [{"name": "w", "why": "y", "load": {"baseline": "10M"}}],
          "expect": {"units": {"w": {"killed_by": "systemd-oomd"}}}})",
      "o.json");
  ASSERT_FALSE(no_oomd.ok());
  EXPECT_NE(errorsOf(no_oomd).find("$.expect.units.w.killed_by: expects systemd-oomd, which this scenario does not enable"),
            std::string::npos)
      << errorsOf(no_oomd);
}

// `drive`: client commands started during the pressure, each in a unit of its own.
TEST(ScenarioParse, LoadDriversArePlannedInStartOrderAndTheirMistakesNamed) {
  const char* text = R"({"name": "d", "description": "d",
    "services": [{"name": "cache", "why": "y", "load": {"baseline": "10M"}}],
    "drive": [
      {"name": "fill", "why": "writes", "command": ["/usr/bin/redis-benchmark", "-n", "1000"], "start_after": "10s"},
      {"name": "ping", "why": "reads", "command": ["/usr/bin/redis-cli", "ping"]}],
    "expect": {"never_killed": ["cache"]}})";
  auto c = parseScenario(text, "d.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  ASSERT_EQ(c.scenario->drives.size(), 2u);
  EXPECT_EQ(c.scenario->drives[0].start_after_sec, 10);
  EXPECT_TRUE(c.scenario->ownsUnit("fill.service"));
  EXPECT_FALSE(c.scenario->ownsUnit("journald.service"));
  const auto plan = makeGuestPlan(*c.scenario);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->drives.size(), 2u);
  EXPECT_EQ(plan->drives[0].unit, "ping.service");  // start order: 0s before 10s
  EXPECT_EQ(plan->drives[1].exec_start.front(), "/usr/bin/redis-benchmark");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"([{"name": "cache", "why": "w", "command": ["/bin/true"]}])", "$.drive[0].name: \"cache\" is already the name"},
      {R"([{"name": "t", "why": "w", "command": ["redis-cli"]}])", "$.drive[0].command[0]: expected an absolute path"},
      {R"([{"name": "t", "why": "w", "command": []}])", "$.drive[0].command: expected an array of 1 to 64"},
      {R"([{"name": "t", "why": "w", "command": ["/bin/true"], "start_after": "3min"}])",
       "$.drive[0].start_after: expected less than time_limit"},
      {R"([{"name": "systemd-journald", "why": "w", "command": ["/bin/true"]}])", "one of the guest's own units"},
      {R"([{"name": "t", "command": ["/bin/true"]}])", "$.drive[0].why: missing"},
  };
  for (const auto& [drive, want] : bad) {
    const std::string doc = std::string(R"({"name": "d", "description": "d",
      "services": [{"name": "cache", "why": "y", "load": {"baseline": "10M"}}],
      "drive": )") + drive + R"(, "expect": {"never_killed": ["cache"]}})";
    auto b = parseScenario(doc, "d.json");
    EXPECT_FALSE(b.ok()) << drive;
    EXPECT_NE(errorsOf(b).find(want), std::string::npos) << drive << "\n" << errorsOf(b);
  }
}

// seconds() answers for duration keys only: success_ratio is a double too, and never a window.
TEST(ScenarioParse, AProbeRatioIsNotTakenForSeconds) {
  auto c = loadScenarioFile(kSource / "scenarios/prefork/continue.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  ASSERT_EQ(c.scenario->expect.probes.size(), 1u);
  const ProbeExpectation& port = c.scenario->expect.probes[0].second;
  EXPECT_TRUE(port.names("success_ratio"));
  EXPECT_EQ(port.seconds("success_ratio"), std::nullopt);
  const auto kill = loadScenarioFile(kSource / "scenarios/prefork/kill.json");
  ASSERT_TRUE(kill.ok()) << errorsOf(kill);
  EXPECT_EQ(kill.scenario->expect.probes[0].second.seconds("recovers_within"), 40.0);
}
