// Checks against timelines recorded from real runs in the guest (bookworm,
// kernel 6.1, systemd 252), byte for byte as the observer streamed them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "checks/verdict.hpp"
#include "scenario/parse.hpp"

using namespace oom;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> recordedLines(const std::string& name) {
  std::ifstream in(fs::path(OOM_SOURCE_DIR) / "tests/checks/fixtures" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Timeline fold(const std::vector<std::string>& lines) {
  Timeline t;
  for (const auto& l : lines) applyStreamLine(t, l);
  return t;
}

Scenario threeServices(const std::string& expect_override = "") {
  auto c = loadScenarioFile(fs::path(OOM_SOURCE_DIR) / "scenarios/three-services.json");
  if (expect_override.empty()) return *c.scenario;
  auto doc = c.scenario->document;
  doc["expect"] = nlohmann::ordered_json::parse(expect_override);
  return *parseScenario(doc.dump(), "three-services.json").scenario;
}

const CheckResult* find(const Verdict& v, const std::string& name) {
  for (const auto& c : v.checks)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace

TEST(RecordedThreeServices, PassesAndCitesTheKernelLine) {
  const auto lines = recordedLines("recorded-three-services-bookworm.jsonl");
  ASSERT_GT(lines.size(), 100u);
  const Timeline t = fold(lines);
  ASSERT_TRUE(t.complete);
  ASSERT_FALSE(t.kills.empty());
  EXPECT_EQ(t.kills[0].unit, "report-worker.service");
  EXPECT_EQ(t.kills[0].oom_score_adj, 600);

  const Verdict v = evaluate(threeServices(), t);
  EXPECT_EQ(v.verdict, VerdictKind::pass) << nlohmann::json(v).dump(2);
  const auto* first = find(v, "first_killed");
  ASSERT_NE(first, nullptr);
  bool cites_kernel = false;
  for (const auto& e : first->evidence)
    cites_kernel = cites_kernel || (e.pid == t.kills[0].pid &&
                                    e.text.find("Killed process") != std::string::npos);
  EXPECT_TRUE(cites_kernel);
}

TEST(RecordedThreeServices, PassesOnTrixieToo) {
  // Debian 13: kernel 6.12, systemd 257; the same scenario, `run --release trixie`.
  const Timeline t = fold(recordedLines("recorded-three-services-trixie.jsonl"));
  ASSERT_TRUE(t.complete);
  EXPECT_NE(t.guest.systemd_version.find("257"), std::string::npos) << t.guest.systemd_version;
  ASSERT_FALSE(t.kills.empty());
  EXPECT_EQ(t.kills[0].unit, "report-worker.service");
  const Verdict v = evaluate(threeServices(), t);
  EXPECT_EQ(v.verdict, VerdictKind::pass) << nlohmann::json(v).dump(2);
}

TEST(RecordedThreeServices, WrongExpectationFailsWithTheRealVictim) {
  const Timeline t = fold(recordedLines("recorded-three-services-bookworm.jsonl"));
  const Verdict v = evaluate(threeServices(R"({"first_killed": "api", "never_killed": ["report-worker"]})"), t);
  EXPECT_EQ(v.verdict, VerdictKind::fail);
  const auto* first = find(v, "first_killed");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->outcome, CheckOutcome::fail);
  EXPECT_NE(first->observed.find("report-worker"), std::string::npos) << first->observed;
}

TEST(RecordedThreeServices, AGuestThatDiedMidRunIsInconclusive) {
  auto lines = recordedLines("recorded-three-services-bookworm.jsonl");
  lines.resize(lines.size() * 2 / 3);  // the stream stops: no end record
  lines.back().resize(lines.back().size() / 2);  // and the last line is cut
  const Timeline t = fold(lines);
  EXPECT_FALSE(t.complete);
  const Verdict v = evaluate(threeServices(), t);
  EXPECT_EQ(v.verdict, VerdictKind::inconclusive) << v.reason;
}

namespace {
Scenario batch() {
  return *loadScenarioFile(fs::path(OOM_SOURCE_DIR) / "scenarios/batch-stop-checkpoint.json").scenario;
}
}  // namespace

TEST(RecordedBatchCheckpoint, TheRestartedJobResumesAndTheCheckCitesItsResumeLine) {
  const Timeline t = fold(recordedLines("recorded-batch-stop-checkpoint-bookworm.jsonl"));
  const Verdict v = evaluate(batch(), t);
  EXPECT_EQ(v.verdict, VerdictKind::pass) << nlohmann::json(v).dump(2);
  const auto* resumed = find(v, "batch-import.resumes_from_checkpoint");
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(resumed->outcome, CheckOutcome::pass) << resumed->observed;
  bool cites = false;
  for (const auto& e : resumed->evidence) cites = cites || e.text.find("\"resumed_from\"") != std::string::npos;
  EXPECT_TRUE(cites) << nlohmann::json(*resumed).dump(2);
}

TEST(RecordedBatchCheckpoint, AJobThatStartsOverFailsTheResumeCheck) {
  auto lines = recordedLines("recorded-batch-stop-checkpoint-bookworm.jsonl");
  std::vector<std::string> started_over;
  for (const auto& l : lines)  // the same run, but the restarted job found no checkpoint
    if (l.find("\\\"event\\\":\\\"resumed\\\"") == std::string::npos) started_over.push_back(l);
  ASSERT_LT(started_over.size(), lines.size()) << "the recording should hold resume lines";
  const Verdict v = evaluate(batch(), fold(started_over));
  const auto* resumed = find(v, "batch-import.resumes_from_checkpoint");
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(resumed->outcome, CheckOutcome::fail) << resumed->observed;
  EXPECT_EQ(v.verdict, VerdictKind::fail);
}
