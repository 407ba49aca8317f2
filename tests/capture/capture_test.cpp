// What capture reads from a host, on fixture trees and recorded kernel logs:
// the victim order, the settings from D-Bus properties, the table, the command's
// refusals before it reads anything.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "capture/command.hpp"
#include "capture/host_reader.hpp"
#include "capture/output.hpp"
#include "fixture_tree.hpp"
#include "recorded_capture.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

using test::FixtureTree;
using test::recordedCapture;

TEST(CaptureVictims, RankedByTheKernelsOomScoreAndMinusThousandLast) {
  FixtureTree t;
  t.process(1, "systemd", 0, 0, 11000, "/init.scope");
  t.process(2, "kthreadd", 0, 0, -1, "/");  // a kernel thread: never a candidate
  t.process(210, "api", 40, -300, 150 * 1024, "/system.slice/api.service");
  t.process(330, "worker", 712, 600, 80 * 1024, "/system.slice/worker.service");
  t.process(331, "worker", 712, 600, 60 * 1024, "/system.slice/worker.service");  // tie: less rss, later
  t.process(400, "journald", 3, -250, 20 * 1024, "/system.slice/systemd-journald.service");
  t.process(500, "guard", 0, -1000, 300 * 1024, "/system.slice/guard.service/payload");
  t.process(600, "bash", 9, 0, 4 * 1024, "/user.slice/user-0.slice/session-1.scope");
  t.write("proc/meminfo", "MemTotal: 1000 kB\n");  // not a pid: skipped
  std::vector<std::string> notes;
  const auto ranked = readProcesses(SysFs(t.root.string()), notes);
  EXPECT_TRUE(notes.empty());
  std::vector<int> order;
  for (const auto& p : ranked) order.push_back(p.pid);
  EXPECT_EQ(order, (std::vector<int>{330, 331, 210, 600, 400, 1, 500}));
  EXPECT_EQ(ranked[0].unit, "worker.service");
  EXPECT_EQ(ranked[0].rss_bytes, 80 * MiB);
  EXPECT_EQ(ranked[0].oom_score_adj, 600);
  EXPECT_EQ(ranked[3].unit, "session-1.scope");
  EXPECT_EQ(ranked.back().unit, "guard.service");  // its process sits in a child cgroup
  EXPECT_EQ(ranked[5].cgroup, "/init.scope");
  EXPECT_EQ(ranked[5].unit, "init.scope");  // PID 1's own scope: a unit too
}

TEST(CaptureVictims, UnitCgroupOfHybridAndLegacyHosts) {
  EXPECT_EQ(cgroupV2Path("12:memory:/system.slice/a.service\n1:name=systemd:/x\n0::/system.slice/a.service\n"),
            "/system.slice/a.service");
  EXPECT_EQ(cgroupV2Path("12:memory:/x\n"), "");
  EXPECT_EQ(cgroupV2Path("12:memory:/x\n1:name=systemd:/system.slice/b.service\n"), "/system.slice/b.service");
}

TEST(CaptureKills, KernelKillsFromARecordedKernelLog) {
  std::ifstream in(std::string(OOM_GUEST_FIXTURES) + "/kmsg/global-group-kill-6.1.kmsg");
  std::vector<std::string> records;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != ' ') records.push_back(line);  // " KEY=value" lines belong to the record before
  const auto kills = kernelKills(records);
  ASSERT_EQ(kills.size(), 2u);
  EXPECT_EQ(kills[0].source, "kernel");
  EXPECT_EQ(kills[0].pid, 331);
  EXPECT_EQ(kills[0].unit, "image-worker.service");
  EXPECT_EQ(kills[0].constraint, "CONSTRAINT_NONE");
  EXPECT_NE(kills[0].text.find("Killed process 331"), std::string::npos) << kills[0].text;
  EXPECT_NE(kills[1].text.find("(group kill, memory.oom.group)"), std::string::npos) << kills[1].text;
}

TEST(CaptureSettings, EffectiveValuesInTheScenarioVocabulary) {
  std::map<std::string, DbusValue> props{
      {"OOMScoreAdjust", std::int32_t{600}},   {"OOMPolicy", std::string("kill")},
      {"Restart", std::string("on-failure")},  {"RestartUSec", std::uint64_t{5'000'000}},
      {"StartLimitBurst", std::uint32_t{5}},   {"StartLimitIntervalUSec", std::uint64_t{10'000'000}},
      {"KillMode", std::string("mixed")},      {"MemoryMax", std::uint64_t{200 * MiB}},
      {"MemoryHigh", UINT64_MAX},              {"MemoryLow", std::uint64_t{0}},
      {"MemoryMin", std::uint64_t{64 * MiB}},  {"MemorySwapMax", UINT64_MAX},
      {"Type", std::string("notify")},         {"TimeoutStopUSec", std::uint64_t{90'000'000}},
      {"ExecMainPID", std::uint32_t{330}}};
  std::vector<std::string> skipped;
  const auto settings = settingsFromProperties(props, &skipped);
  std::map<std::string, std::string> got;
  for (const auto& s : settings) got[s.name] = s.value;
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"OOMScoreAdjust", "600"},
                                                     {"OOMPolicy", "kill"},
                                                     {"Restart", "on-failure"},
                                                     {"RestartSec", "5s"},
                                                     {"StartLimitBurst", "5"},
                                                     {"StartLimitIntervalSec", "10s"},
                                                     {"KillMode", "mixed"},
                                                     {"MemoryMin", "64M"},
                                                     {"MemoryMax", "200M"}}));
  EXPECT_TRUE(skipped.empty());
  // In supportedDirectives() order, whatever the map's.
  std::vector<std::string> order, expected;
  for (const auto& s : settings) order.push_back(s.name);
  for (const auto& d : supportedDirectives())
    if (got.count(std::string(d.directive))) expected.emplace_back(d.directive);
  EXPECT_EQ(order, expected);
}

TEST(CaptureSettings, NoRestartCarriesNoRestartTimings) {
  const auto settings = settingsFromProperties({{"OOMScoreAdjust", std::int32_t{0}},
                                                {"OOMPolicy", std::string("stop")},
                                                {"Restart", std::string("no")},
                                                {"RestartUSec", std::uint64_t{100'000}},
                                                {"StartLimitBurst", std::uint32_t{5}}});
  ASSERT_EQ(settings.size(), 3u);
  EXPECT_EQ(settings[0].name, "OOMScoreAdjust");
  EXPECT_EQ(settings[2].value, "no");
}

TEST(CaptureTable, ServicesVictimsAndKills) {
  const std::string table = captureTable(recordedCapture(), 20);
  EXPECT_NE(table.find("host web1: Debian GNU/Linux 12 (bookworm), systemd 252.30-1~deb12u2, up 10min\n"), std::string::npos) << table;
  std::istringstream lines(table);
  std::string line, worker_row, first_victim, guard_victim;
  while (std::getline(lines, line)) {
    if (line.rfind("  worker.service ", 0) == 0) worker_row = line;
    if (line.find("     1      330 worker") != std::string::npos) first_victim = line;
    if (line.find("never      500") != std::string::npos) guard_victim = line;
  }
  EXPECT_NE(worker_row.find("active/running"), std::string::npos) << table;
  EXPECT_NE(worker_row.find("80.0MiB"), std::string::npos) << worker_row;
  for (const char* v : {" 600 ", " kill ", "on-failure", " 5s ", "200M"})
    EXPECT_NE(worker_row.find(v), std::string::npos) << v << " in: " << worker_row;
  EXPECT_NE(table.find("      also KillMode=mixed\n"), std::string::npos) << table;
  EXPECT_NE(first_victim.find("worker.service"), std::string::npos) << table;
  EXPECT_NE(first_victim.find("712"), std::string::npos) << first_victim;
  EXPECT_NE(guard_victim.find("-1000"), std::string::npos) << table;
  EXPECT_NE(table.find("30.1s after boot (9min ago): pid 310 (eat) of worker.service, oom_score_adj 600, CONSTRAINT_NONE"),
            std::string::npos) << table;
  EXPECT_NE(table.find("journal 2025-11-29T15:00:00Z: worker.service: A process of this unit"), std::string::npos) << table;
  EXPECT_NE(captureTable(recordedCapture(), 1).find("... 2 more processes (--top 0 lists all)"), std::string::npos);
}

TEST(CaptureJson, RoundTripsWithUnknownMemoryAsNull) {
  HostCapture c = recordedCapture();
  c.services[0].memory_current.reset();
  const nlohmann::json j = c;
  EXPECT_EQ(j["format"], "oomharness-capture/1");
  EXPECT_TRUE(j["services"][0]["memory_current"].is_null());
  const auto back = j.get<HostCapture>();
  EXPECT_FALSE(back.services[0].memory_current);
  EXPECT_EQ(back.services[1].memory_current, 80 * MiB + 12345);
  EXPECT_EQ(back.services[1].setting("MemoryMax"), "200M");
  EXPECT_EQ(back.victims[0].pid, 330);
  EXPECT_EQ(back.kills[1].source, "journal");
}

struct Captured {
  int status = -1;
  std::string out, err;
};

Captured runOn(const CaptureOptions& options) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  Captured c;
  c.status = runCapture(options, out, err);
  for (auto [f, s] : {std::pair{out, &c.out}, std::pair{err, &c.err}}) {
    std::rewind(f);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s->append(buf, n);
    std::fclose(f);
  }
  return c;
}

TEST(CaptureCommand, AHostWithoutSystemdIsRefusedWithExitThree) {
  FixtureTree t;
  t.write("proc/1/comm", "bash\n");
  CaptureOptions o;
  o.root = t.root.string();
  const auto r = runOn(o);
  EXPECT_EQ(r.status, kCaptureNoHost);
  EXPECT_NE(r.err.find("PID 1 is \"bash\", not systemd"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(CaptureCommand, OutputPlacesAreCheckedBeforeTheHostIsRead) {
  FixtureTree t;
  t.write("proc/1/comm", "bash\n");
  t.write("units/already.service", "[Service]\n");
  CaptureOptions o;
  o.root = t.root.string();
  o.units_dir = (t.root / "units").string();
  auto r = runOn(o);
  EXPECT_EQ(r.status, kCaptureBadInput);
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  o.units_dir.clear();
  o.scenario_file = (t.root / "no-such-folder" / "s.json").string();
  r = runOn(o);
  EXPECT_EQ(r.status, kCaptureBadInput);
  EXPECT_NE(r.err.find("no folder"), std::string::npos) << r.err;
}

TEST(CaptureCommand, GuestArguments) {
  auto o = parseCaptureArgs({"--scenario", "-", "--units", "/tmp/u", "--all", "--top", "0"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->scenario_file, "-");
  EXPECT_EQ(o->units_dir, "/tmp/u");
  EXPECT_TRUE(o->all);
  EXPECT_EQ(o->top, 0u);
  EXPECT_FALSE(parseCaptureArgs({"--top", "many"}));
  EXPECT_FALSE(parseCaptureArgs({"--scenario"}));
  EXPECT_EQ(parseCaptureArgs({"--pressure"}).error().str(), "--pressure: unknown option");
}

}  // namespace
}  // namespace oom
