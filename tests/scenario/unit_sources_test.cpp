// Scenarios that take real unit files (scenario/unit_sources.hpp): the merge as
// systemd applies it, inline overrides, every refused value with its file and
// line, the harness drop-in, and --units trees. Each test writes its own files
// into a temporary folder.
#include "scenario/unit_sources.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "plan/planner.hpp"
#include "scenario/parse.hpp"
#include "scenario/lint_inputs.hpp"
#include "systemd/unit_file.hpp"

namespace fs = std::filesystem;
using namespace oom;

namespace {

class UnitSources : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("oomharness-unit-sources-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& relative, const std::string& text) {
    fs::create_directories((dir_ / relative).parent_path());
    std::ofstream(dir_ / relative) << text;
  }

  ServiceFilesResult read(const std::vector<UnitProperty>& inline_unit = {}) {
    ServiceFileRefs refs;
    refs.base = dir_;
    if (fs::exists(dir_ / "api.service")) refs.unit_file = "api.service";
    if (fs::exists(dir_ / "api.service.d")) refs.drop_ins = {"api.service.d"};
    refs.slice_dirs = {"."};
    return readServiceFiles("api", refs, inline_unit, "s.json: $.services[0]");
  }

  std::string value(const ServiceFilesResult& r, const std::string& directive) {
    for (const auto& p : r.unit)
      if (p.name == directive) return p.value;
    return "(unset)";
  }

  std::string where(const ServiceFilesResult& r, const std::string& directive) {
    for (const auto& o : r.files.effective)
      if (o.directive == directive) return fs::path(o.where).filename().string();
    return "(none)";
  }

  fs::path dir_;
};

TEST_F(UnitSources, TheLastDropInByFileNameWinsWhateverOrderTheyAreGiven) {
  write("api.service", "[Service]\nExecStart=/usr/bin/api\nOOMScoreAdjust=-500\n");
  write("api.service.d/20-oom.conf", "[Service]\nOOMScoreAdjust=700\n");
  write("api.service.d/10-oom.conf", "[Service]\nOOMScoreAdjust=200\nOOMPolicy=continue\n");
  const auto r = read();
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().str();
  EXPECT_EQ(value(r, "OOMScoreAdjust"), "700");
  EXPECT_EQ(where(r, "OOMScoreAdjust"), "20-oom.conf:2");
  EXPECT_EQ(value(r, "OOMPolicy"), "continue");
  ASSERT_EQ(r.files.overridden.size(), 2u);  // -500 from the unit file, 200 from 10-oom.conf
  EXPECT_EQ(r.files.overridden[0].value, "-500");
  EXPECT_EQ(r.files.overridden[1].value, "200");
  // Installed in the order systemd applies them: unit file, then drop-ins by name.
  ASSERT_EQ(r.files.files.size(), 3u);
  EXPECT_EQ(r.files.files[0].guest_path, "/etc/systemd/system/api.service");
  EXPECT_EQ(r.files.files[1].guest_path, "/etc/systemd/system/api.service.d/10-oom.conf");
  EXPECT_EQ(r.files.files[2].guest_path, "/etc/systemd/system/api.service.d/20-oom.conf");
  EXPECT_NE(r.files.files[2].text.find("OOMScoreAdjust=700"), std::string::npos);
}

TEST_F(UnitSources, AnEmptyAssignmentResetsToTheDefault) {
  write("api.service", "[Service]\nExecStart=/usr/bin/api\nMemoryMax=256M\n");
  write("api.service.d/10.conf", "[Service]\nMemoryMax=\n");
  const auto r = read();
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(value(r, "MemoryMax"), "(unset)");
}

TEST_F(UnitSources, InlineSettingsOverrideTheFilesAndTheOverrideIsShown) {
  write("api.service", "[Service]\nExecStart=/usr/bin/api\nOOMPolicy=continue\n");
  const auto r = read({{"OOMPolicy", "stop"}, {"MemoryHigh", "300M"}});
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(value(r, "OOMPolicy"), "stop");
  EXPECT_EQ(value(r, "MemoryHigh"), "300M");
  EXPECT_EQ(where(r, "OOMPolicy"), "scenario s.json: $.services[0].unit.OOMPolicy");
  ASSERT_EQ(r.files.overridden.size(), 1u);
  EXPECT_EQ(r.files.overridden[0].value, "continue");
}

TEST_F(UnitSources, ValuesSystemdOrOomharnessRefuseAreErrorsWithFileAndLine) {
  write("api.service", "[Service]\nExecStart=/usr/bin/api\nOOMScoreAdjust=2000\n");
  write("api.service.d/10.conf", "[Service]\nMemoryMax=50%\n[Unit]\nOOMPolicy=stop\nbroken line\n");
  const auto r = read();
  std::vector<std::string> errors;
  for (const auto& e : r.errors) errors.push_back(fs::path(e.where).filename().string() + " " + e.message);
  ASSERT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
  auto has = [&](const std::string& text) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const std::string& e) { return e.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("api.service:3 OOMScoreAdjust=2000: systemd refuses it"));
  EXPECT_TRUE(has("10.conf:2 MemoryMax=50%: systemd accepts it, oomharness does not yet"));
  EXPECT_TRUE(has("10.conf:4 OOMPolicy= belongs in [Service]"));
  EXPECT_TRUE(has("10.conf:5 "));  // the syntax problem systemd would log and skip
}

TEST_F(UnitSources, WhatABareGuestLacksIsResetAndEveryResetIsReported) {
  write("api.service",
        "[Unit]\nRequires=postgresql.service network-online.target\nConditionPathExists=/etc/api.yaml\n"
        "AssertPathExists=/srv\n[Service]\nType=forking\nUser=api\nExecStartPre=/usr/bin/api migrate\n"
        "ExecStart=/usr/bin/api\nPIDFile=/run/api.pid\nEnvironment=A=1\n[Install]\nWantedBy=multi-user.target\n");
  const auto r = read();
  ASSERT_TRUE(r.errors.empty());
  std::vector<std::string> neutralized;
  for (const auto& o : r.files.neutralized) neutralized.push_back(o.directive);
  EXPECT_EQ(neutralized, (std::vector<std::string>{"ConditionPathExists", "AssertPathExists", "Type", "User",
                                                   "ExecStartPre", "ExecStart", "PIDFile"}));
  EXPECT_EQ(r.files.reset_lines, (std::vector<std::string>{"User=", "ExecStartPre=", "PIDFile="}));
  EXPECT_EQ(r.files.unit_reset_lines, (std::vector<std::string>{"AssertPathExists=", "ConditionPathExists="}));
  EXPECT_EQ(r.files.hard_dependencies,
            (std::vector<std::string>{"postgresql.service", "network-online.target"}));
  ASSERT_EQ(r.files.passed_through.size(), 2u);  // Requires=, Environment=; [Install] is not for a test
  EXPECT_EQ(r.files.passed_through[1].directive, "Environment");
}

// The harness drop-in, read back by the same parser, gives what the plan expects:
// the scenario's values win, ExecStart is oomstress alone, the resets are there.
TEST_F(UnitSources, TheHarnessDropInIsAppliedLastAndSaysWhatThePlanExpects) {
  write("api.service", "[Service]\nType=simple\nUser=api\nExecStart=/usr/bin/api\nOOMScoreAdjust=100\n");
  write("api.service.d/10.conf", "[Service]\nOOMScoreAdjust=300\n[Unit]\nStartLimitBurst=3\n");
  const std::vector<UnitProperty> inline_unit = {{"OOMScoreAdjust", "900"}, {"StartLimitIntervalSec", "300s"}};
  const auto r = read(inline_unit);
  ASSERT_TRUE(r.errors.empty());
  const std::string text =
      harnessDropIn(r.files, inline_unit, {"/opt/oomharness/bin/oomstress", "--target", "100M", "50%"}, "notify");
  oom::UnitSources merged;
  merged.name = "api.service";
  merged.unit_file = parseUnitFile(r.files.files[0].text, "api.service");
  merged.drop_ins.push_back(parseUnitFile(r.files.files[1].text, "10.conf"));
  merged.drop_ins.push_back(parseUnitFile(text, kHarnessDropInName));
  EXPECT_TRUE(merged.drop_ins.back().problems.empty());
  const auto settings = effectiveSettings(merged);
  auto winner = [&](const std::string& key) {
    const auto it = settings.find(key);
    return it == settings.end() || !it->second.winner ? std::string("(reset)") : it->second.winner->value;
  };
  EXPECT_EQ(winner("Service.OOMScoreAdjust"), "900");
  EXPECT_EQ(winner("Service.Type"), "notify");
  EXPECT_EQ(winner("Service.User"), "(reset)");
  EXPECT_EQ(winner("Unit.StartLimitBurst"), "3");
  EXPECT_EQ(winner("Unit.StartLimitIntervalSec"), "300s");
  EXPECT_EQ(winner("Service.ExecStart"), "\"/opt/oomharness/bin/oomstress\" \"--target\" \"100M\" \"50%%\"");
  // And what the plan asks systemd to show: the merge, with the scenario's values.
  std::map<std::string, std::string> expected;
  for (const auto& p : r.unit) expected[p.name] = p.value;
  EXPECT_EQ(expected, (std::map<std::string, std::string>{
                          {"OOMScoreAdjust", "900"}, {"StartLimitBurst", "3"}, {"StartLimitIntervalSec", "300s"}}));
}

TEST_F(UnitSources, ADropInThatWouldSortAfterTheHarnessDropInIsRefused) {
  write("api.service.d/zzz-late.conf", "[Service]\nOOMScoreAdjust=1\n");
  const auto r = read();
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("must be applied last"), std::string::npos);
}

TEST_F(UnitSources, ASliceFileNextToTheUnitIsInstalledWithIt) {
  write("api.service", "[Service]\nExecStart=/usr/bin/api\nSlice=apps.slice\n");
  write("apps.slice", "[Slice]\nMemoryMax=600M\n");
  write("apps.slice.d/10.conf", "[Slice]\nMemoryHigh=500M\n");
  const auto r = read();
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.files.files.size(), 3u);
  EXPECT_EQ(r.files.files[1].guest_path, "/etc/systemd/system/apps.slice");
  EXPECT_EQ(r.files.files[2].guest_path, "/etc/systemd/system/apps.slice.d/10.conf");
  EXPECT_EQ(value(r, "Slice"), "apps.slice");
}

// A scenario that gives only drop-ins finds the slice's file beside the NAME.service.d
// folder (a tree laid out as /etc/systemd/system); a masked drop-in (a link to
// /dev/null) is skipped, as systemd and lint skip it.
TEST_F(UnitSources, ADropInsOnlyServiceFindsItsSliceBesideTheFolderAndSkipsMaskedDropIns) {
  write("units/api.service.d/10-slice.conf", "[Service]\nSlice=critical.slice\nManagedOOMPreference=avoid\n");
  write("units/critical.slice", "[Slice]\nManagedOOMSwap=kill\n");
  fs::create_symlink("/dev/null", dir_ / "units/api.service.d/20-masked.conf");
  write("s.json", R"({"name": "d", "description": "d",
    "services": [{"name": "api", "why": "w", "drop_ins": ["units/api.service.d/"], "load": {"baseline": "10M"}}],
    "expect": {"never_killed": ["api"]}})");
  const auto check = loadScenarioFile(dir_ / "s.json");
  ASSERT_TRUE(check.ok()) << check.errors.front().str();
  const ServiceSpec& api = check.scenario->services[0];
  ASSERT_TRUE(api.files.has_value());
  EXPECT_EQ(api.directive("ManagedOOMPreference"), "avoid");
  std::vector<std::string> guest_paths;
  for (const auto& f : api.files->files) guest_paths.push_back(f.guest_path);
  EXPECT_NE(std::find(guest_paths.begin(), guest_paths.end(), "/etc/systemd/system/critical.slice"), guest_paths.end());
  for (const auto& p : guest_paths) EXPECT_EQ(p.find("20-masked"), std::string::npos) << p;
}

const char* kScenario = R"({
  "name": "files", "description": "d",
  "guest": {"memory": "1G"},
  "services": [
    {"name": "api", "why": "w", "unit_file": "units/api.service", "drop_ins": ["units/api.service.d"],
     "unit": {"MemoryHigh": "400M"}, "load": {"baseline": "100M"}},
    {"name": "worker", "why": "w", "unit": {"OOMScoreAdjust": 500}, "load": {"baseline": "100M"}}
  ],
  "expect": {"first_killed": "worker"}
})";

TEST_F(UnitSources, AScenarioReadsItsFilesRelativeToItsOwnFolderAndPlansThem) {
  write("units/api.service", "[Service]\nExecStart=/usr/bin/api\nOOMScoreAdjust=-100\nMemoryMax=300M\n");
  write("units/api.service.d/10.conf", "[Service]\nOOMPolicy=kill\n");
  write("s.json", kScenario);
  const auto check = loadScenarioFile(dir_ / "s.json");
  ASSERT_TRUE(check.ok()) << check.errors.front().str();
  const ServiceSpec& api = check.scenario->services[0];
  ASSERT_TRUE(api.files.has_value());
  EXPECT_EQ(api.oomScoreAdjust(), -100);
  EXPECT_EQ(api.directive("MemoryMax"), "300M");
  EXPECT_EQ(api.directive("MemoryHigh"), "400M");
  EXPECT_FALSE(check.scenario->services[1].files.has_value());
  const auto plan = makeGuestPlan(*check.scenario);
  ASSERT_TRUE(plan);
  const PlannedUnit& u = plan->units[0];
  ASSERT_TRUE(u.installed());
  EXPECT_FALSE(plan->units[1].installed());
  EXPECT_EQ(u.files.files.back().guest_path, "/etc/systemd/system/api.service.d/zz-oomharness.conf");
  EXPECT_NE(u.files.files.back().text.find("MemoryHigh=400M"), std::string::npos);
  EXPECT_EQ(u.properties.front().name, "Type");  // what systemd must show: notify, then the merge
  EXPECT_EQ(u.properties.front().value, "notify");
  // The baseline must fit under the files' MemoryMax too.
  write("units/api.service.d/20.conf", "[Service]\nMemoryMax=64M\n");
  const auto small = loadScenarioFile(dir_ / "s.json");
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.errors.front().message.find("does not fit under MemoryMax=64M"), std::string::npos);
}

TEST_F(UnitSources, AUnitsTreeReplacesTheScenariosFilesForTheServicesItHas) {
  write("units/api.service", "[Service]\nExecStart=/usr/bin/api\nOOMScoreAdjust=-100\n");
  write("units/api.service.d/10.conf", "[Service]\nOOMPolicy=kill\n");
  write("proposed/api.service.d/10.conf", "[Service]\nOOMScoreAdjust=800\n");
  write("proposed/worker.service", "[Service]\nExecStart=/usr/bin/worker\nOOMScoreAdjust=-900\n");
  write("s.json", kScenario);
  const auto check = loadScenarioFile(dir_ / "s.json", dir_ / "proposed");
  ASSERT_TRUE(check.ok()) << check.errors.front().str();
  EXPECT_EQ(check.scenario->services[0].oomScoreAdjust(), 800);
  EXPECT_FALSE(check.scenario->services[0].directive("OOMPolicy"));  // units/ is not read
  EXPECT_EQ(check.scenario->services[1].oomScoreAdjust(), 500);      // inline wins over proposed/
  ASSERT_TRUE(check.scenario->services[1].files.has_value());
  const auto none = loadScenarioFile(dir_ / "s.json", dir_ / "units/api.service.d");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.errors.front().message.find("no unit file or drop-in folder"), std::string::npos);
}

// A tree laid out as /etc/systemd/system with type-wide (service.d) and prefix
// (api-.service.d) drop-ins: they reach the unit, and of two with one file name
// the more specific folder's wins, as systemd reads them.
TEST_F(UnitSources, TypeWideAndPrefixDropInsReachTheUnitAndTheMoreSpecificNameWins) {
  write("tree/api-web.service", "[Service]\nExecStart=/usr/bin/web\nOOMScoreAdjust=-100\n");
  write("tree/service.d/10-defaults.conf", "[Service]\nOOMScoreAdjust=100\n");
  write("tree/service.d/05-base.conf", "[Service]\nMemoryHigh=300M\n");
  write("tree/api-.service.d/10-defaults.conf", "[Service]\nOOMScoreAdjust=300\n");
  write("tree/other-.service.d/20-other.conf", "[Service]\nOOMScoreAdjust=999\n");
  const auto refs = unitsTreeRefs(dir_ / "tree", "api-web");
  ASSERT_TRUE(refs.has_value());
  EXPECT_EQ(refs->drop_ins, (std::vector<fs::path>{"service.d", "api-.service.d"}));
  const auto r = readServiceFiles("api-web", *refs, {}, "s.json: $.services[0]");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().str();
  EXPECT_EQ(value(r, "OOMScoreAdjust"), "300");
  EXPECT_EQ(value(r, "MemoryHigh"), "300M");
  std::vector<std::string> installed;
  for (const auto& f : r.files.files) installed.push_back(f.guest_path);
  // Into the unit's own folder: a type-wide drop-in must not reach the guest's own units.
  EXPECT_EQ(installed, (std::vector<std::string>{"/etc/systemd/system/api-web.service",
                                                 "/etc/systemd/system/api-web.service.d/05-base.conf",
                                                 "/etc/systemd/system/api-web.service.d/10-defaults.conf"}));
  EXPECT_NE(r.files.files[2].source.find("api-.service.d/10-defaults.conf"), std::string::npos);
  EXPECT_EQ(dropInFolderNames("a-b-c.service"),
            (std::vector<std::string>{"service.d", "a-.service.d", "a-b-.service.d", "a-b-c.service.d"}));
  EXPECT_EQ(dropInFolderNames("-.slice"), (std::vector<std::string>{"slice.d", "-.slice.d"}));
}

TEST_F(UnitSources, LintReadsTypeWideAndPrefixDropInsWithTheUnitsTheyReach) {
  write("tree/api-web.service", "[Service]\nExecStart=/usr/bin/web\nOOMScoreAdjust=-100\n");
  write("tree/service.d/10-defaults.conf", "[Service]\nOOMScoreAdjust=100\n");
  write("tree/api-.service.d/10-defaults.conf", "[Service]\nOOMScoreAdjust=300\n");
  const auto in = collectLintInputs({(dir_ / "tree").string()});
  ASSERT_TRUE(in.unreadable.empty());
  ASSERT_EQ(in.units.size(), 1u);  // the shared folders are not units of their own
  EXPECT_EQ(in.units[0].name, "api-web.service");
  ASSERT_EQ(in.units[0].drop_ins.size(), 1u);  // one 10-defaults.conf: the prefix folder's
  EXPECT_NE(in.units[0].drop_ins[0].path.find("api-.service.d"), std::string::npos);
}

TEST_F(UnitSources, MissingFilesAreErrorsThatNameTheScenarioAndTheFile) {
  write("s.json", kScenario);
  const auto check = loadScenarioFile(dir_ / "s.json");
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.errors.front().where.find("s.json: $.services[0]"), std::string::npos);
  EXPECT_NE(check.errors.front().message.find("units/api.service"), std::string::npos);
}

// A service without `load` runs its own program: its unit file's ExecStart=, Type=,
// User= and ExecStartPre= reach systemd as written; the harness drop-in only adds
// the scenario's inline settings.
TEST_F(UnitSources, AServiceWithoutLoadRunsItsOwnProgramAsTheUnitFileWritesIt) {
  write("units/web.service",
        "[Service]\nType=forking\nUser=www-data\nExecStartPre=/usr/sbin/web -t\n"
        "ExecStart=/usr/sbin/web --daemon\nPIDFile=/run/web.pid\nOOMPolicy=continue\n");
  write("s.json", R"({"name": "own", "description": "d",
    "services": [{"name": "web", "why": "w", "unit_file": "units/web.service", "unit": {"OOMScoreAdjust": 500}},
                 {"name": "noise", "why": "w", "load": {"baseline": "100M"}}],
    "expect": {"first_killed": "web"}})");
  const auto check = loadScenarioFile(dir_ / "s.json");
  ASSERT_TRUE(check.ok()) << check.errors.front().str();
  const ServiceSpec& web = check.scenario->services[0];
  EXPECT_TRUE(web.runsOwnCommand());
  EXPECT_EQ(web.baselineBytes(), 0u);
  EXPECT_FALSE(check.scenario->services[1].runsOwnCommand());
  ASSERT_TRUE(web.files.has_value());
  EXPECT_TRUE(web.files->neutralized.empty()) << web.files->neutralized.front().directive;
  const auto plan = makeGuestPlan(*check.scenario);
  ASSERT_TRUE(plan);
  const PlannedUnit& u = plan->units[0];
  EXPECT_TRUE(u.exec_start.empty());
  EXPECT_EQ(u.processes, 0u);
  for (const auto& p : u.properties) EXPECT_NE(p.name, "Type");  // systemd shows the file's own
  const std::string& drop_in = u.files.files.back().text;
  EXPECT_EQ(drop_in.find("ExecStart"), std::string::npos) << drop_in;
  EXPECT_EQ(drop_in.find("Type="), std::string::npos) << drop_in;
  EXPECT_EQ(drop_in.find("User="), std::string::npos) << drop_in;
  EXPECT_NE(drop_in.find("OOMScoreAdjust=500"), std::string::npos) << drop_in;
  // The stand-in beside it still gets oomstress.
  ASSERT_FALSE(plan->units[1].exec_start.empty());
}

TEST_F(UnitSources, AServiceWithoutLoadNeedsAUnitFileThatRunsSomething) {
  write("s.json", R"({"name": "own", "description": "d",
    "services": [{"name": "web", "why": "w", "unit": {"OOMScoreAdjust": 500}}],
    "expect": {"first_killed": "web"}})");
  auto check = loadScenarioFile(dir_ / "s.json");
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.errors.front().str().find("$.services[0]: expected \"load\""), std::string::npos)
      << check.errors.front().str();
  write("units/web.service", "[Service]\nExecStart=/usr/sbin/web\n");
  write("units/web.service.d/10.conf", "[Service]\nExecStart=\n");  // clears the list
  write("s.json", R"({"name": "own", "description": "d",
    "services": [{"name": "web", "why": "w", "unit_file": "units/web.service", "drop_ins": ["units/web.service.d"]}],
    "expect": {"first_killed": "web"}})");
  check = loadScenarioFile(dir_ / "s.json");
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.errors.front().str().find("set no ExecStart="), std::string::npos) << check.errors.front().str();
  EXPECT_NE(check.errors.front().str().find("units/web.service"), std::string::npos) << check.errors.front().str();
}


}  // namespace
