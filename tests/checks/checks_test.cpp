// Checks against fixture timelines (tests/checks/fixtures, written by
// make_fixtures.py in the observer's JSON-lines format; recorded-*.jsonl from
// real runs go next to them).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "checks/verdict.hpp"
#include "scenario/parse.hpp"

using namespace oom;
namespace fs = std::filesystem;

namespace {
const fs::path kSource = OOM_SOURCE_DIR;

Timeline loadTimeline(const std::string& name) {
  std::ifstream in(kSource / "tests/checks/fixtures" / name);
  EXPECT_TRUE(in) << name;
  Timeline t;
  for (std::string line; std::getline(in, line);) EXPECT_TRUE(applyStreamLine(t, line)) << line;
  return t;
}

Scenario loadScenario(const std::string& name) {
  auto c = loadScenarioFile(kSource / "scenarios" / name);
  EXPECT_TRUE(c.ok());
  return *c.scenario;
}

Scenario withExpect(const std::string& name, const std::string& expect_json) {
  auto c = loadScenarioFile(kSource / "scenarios" / name);
  auto doc = c.scenario->document;
  doc["expect"] = nlohmann::ordered_json::parse(expect_json);
  auto again = parseScenario(doc.dump(), name);
  EXPECT_TRUE(again.ok()) << (again.errors.empty() ? "" : again.errors[0].str());
  return *again.scenario;
}

const CheckResult& find(const Verdict& v, const std::string& name) {
  for (const auto& c : v.checks)
    if (c.name == name) return c;
  throw std::runtime_error("no check " + name);
}

std::string dump(const Verdict& v) { return nlohmann::json(v).dump(2); }
}  // namespace

TEST(Checks, WorkerKilledFirstAndRestartedCleanlyPasses) {
  const Verdict v = evaluate(loadScenario("three-services.json"), loadTimeline("three-services-pass.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  const auto& first = find(v, "first_killed");
  ASSERT_FALSE(first.evidence.empty());
  EXPECT_EQ(first.evidence[0].pid, 320);
  EXPECT_NE(first.evidence[0].text.find("Killed process 320 (oomstress)"), std::string::npos);
  EXPECT_EQ(find(v, "report-worker.Result").observed, "Result=oom-kill");
  EXPECT_EQ(find(v, "report-worker.restarts").observed, "NRestarts=1");
  EXPECT_EQ(find(v, "report-worker.clean_restart").outcome, CheckOutcome::pass);
  EXPECT_EQ(find(v, "kernel_vs_systemd").outcome, CheckOutcome::pass);
  EXPECT_DOUBLE_EQ(v.pressure_t, 21.0);
}

TEST(Checks, GroupKillCountsOnceAndVictimIsTheChosenProcess) {
  const Verdict v = evaluate(loadScenario("image-worker.json"), loadTimeline("image-worker-group-kill.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  const auto& kills = find(v, "image-worker.oom_kills");
  EXPECT_EQ(kills.observed, "1 kill(s) (2 process(es) including group kills)");
  EXPECT_EQ(find(v, "first_killed").evidence[0].pid, 330);
  EXPECT_EQ(find(v, "image-worker.clean_restart").outcome, CheckOutcome::pass);
}

TEST(Checks, ContinuePolicyLeavesUnitHalfAlive) {
  const Verdict v = evaluate(loadScenario("half-alive-continue.json"), loadTimeline("half-alive-continue.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  const auto& half = find(v, "web.half_alive");
  EXPECT_EQ(half.outcome, CheckOutcome::pass);
  EXPECT_NE(half.observed.find("3 process(es) left"), std::string::npos) << half.observed;

  const Verdict strict = evaluate(
      withExpect("half-alive-continue.json", R"({"units": {"web": {"half_alive": false}}})"),
      loadTimeline("half-alive-continue.jsonl"));
  EXPECT_EQ(strict.verdict, VerdictKind::fail);
  EXPECT_EQ(find(strict, "web.half_alive").outcome, CheckOutcome::fail);
}

TEST(Checks, GroupKillIsNotHalfAlive) {
  const Verdict v = evaluate(
      withExpect("image-worker.json", R"({"units": {"image-worker": {"half_alive": false}}})"),
      loadTimeline("image-worker-group-kill.jsonl"));
  EXPECT_EQ(find(v, "image-worker.half_alive").outcome, CheckOutcome::pass) << dump(v);
}

TEST(Checks, ProtectedUnitKilledFailsWithTheKernelLineAsEvidence) {
  const Verdict v = evaluate(loadScenario("three-services.json"), loadTimeline("protected-killed.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::fail);
  const auto& first = find(v, "first_killed");
  EXPECT_EQ(first.outcome, CheckOutcome::fail);
  EXPECT_NE(first.observed.find("api.service pid 301"), std::string::npos) << first.observed;
  bool never_api_failed = false;
  for (const auto& c : v.checks)
    if (c.name == "never_killed" && c.unit == "api") {
      never_api_failed = c.outcome == CheckOutcome::fail;
      EXPECT_EQ(c.evidence.size(), 2u);  // victim and group member
    }
  EXPECT_TRUE(never_api_failed);
}

TEST(Checks, RestartLoopHitsTheStartLimit) {
  const Verdict v = evaluate(loadScenario("restart-loop.json"), loadTimeline("restart-loop-start-limit.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  const auto& clean = find(v, "exporter.clean_restart");
  EXPECT_NE(clean.observed.find("start limit hit"), std::string::npos) << clean.observed;
  EXPECT_EQ(find(v, "exporter.oom_kills").observed.substr(0, 10), "3 kill(s) ");

  const Verdict strict = evaluate(
      withExpect("restart-loop.json", R"({"units": {"exporter": {"clean_restart": true}}})"),
      loadTimeline("restart-loop-start-limit.jsonl"));
  EXPECT_EQ(find(strict, "exporter.clean_restart").outcome, CheckOutcome::fail);
}

TEST(Checks, MissingEndRecordIsInconclusive) {
  const Verdict v = evaluate(loadScenario("three-services.json"), loadTimeline("incomplete.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::inconclusive);
  EXPECT_NE(v.reason.find("timeline incomplete"), std::string::npos);
}

TEST(Checks, SetupMismatchIsInconclusiveWithTheMismatchAsEvidence) {
  const Verdict v = evaluate(loadScenario("three-services.json"), loadTimeline("setup-mismatch.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::inconclusive);
  const auto& setup = find(v, "setup");
  ASSERT_EQ(setup.evidence.size(), 1u);
  EXPECT_NE(setup.evidence[0].text.find("oom_score_adj 0"), std::string::npos);
}

TEST(Checks, NoPressureIsInconclusiveNotFail) {
  const Verdict v = evaluate(loadScenario("three-services.json"), loadTimeline("no-pressure.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::inconclusive) << dump(v);
  EXPECT_NE(v.reason.find("no pressure happened"), std::string::npos) << v.reason;
}

TEST(Checks, KernelKillWithoutSystemdReportIsANoteWithBothSides) {
  const Verdict v = evaluate(
      withExpect("three-services.json", R"({"first_killed": "report-worker", "never_killed": ["api"]})"),
      loadTimeline("systemd-missed-kill.jsonl"));
  const auto& cross = find(v, "kernel_vs_systemd");
  EXPECT_EQ(cross.outcome, CheckOutcome::note);
  ASSERT_EQ(cross.evidence.size(), 2u);
  EXPECT_EQ(cross.evidence[0].source, "kernel");
  EXPECT_EQ(cross.evidence[1].source, "journal");
  EXPECT_EQ(v.verdict, VerdictKind::pass);  // notes do not fail a run
}

TEST(Checks, MemoryMaxKillHasMemcgConstraintAndSparesNeighbours) {
  const Verdict v = evaluate(loadScenario("memorymax-contained.json"), loadTimeline("memorymax-contained.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  EXPECT_NE(find(v, "cache-loader.constraint").observed.find("CONSTRAINT_MEMCG"), std::string::npos);
}

TEST(Checks, KillsOfUnmentionedUnitsAreNotes) {
  const Verdict v = evaluate(withExpect("three-services.json", R"({"never_killed": ["redis"]})"),
                             loadTimeline("three-services-pass.jsonl"));
  const auto& note = find(v, "note.unexpected_kill");
  EXPECT_EQ(note.outcome, CheckOutcome::note);
  EXPECT_EQ(note.unit, "report-worker");
  EXPECT_EQ(v.verdict, VerdictKind::pass);
}

TEST(Checks, VerdictSerialisesToJson) {
  const Verdict v = evaluate(loadScenario("three-services.json"), loadTimeline("three-services-pass.jsonl"));
  const auto j = nlohmann::json(v);
  EXPECT_EQ(j["verdict"], "pass");
  EXPECT_EQ(j["checks"][0]["outcome"], "pass");
  const auto back = j.get<Verdict>();
  EXPECT_EQ(back.checks.size(), v.checks.size());
}
