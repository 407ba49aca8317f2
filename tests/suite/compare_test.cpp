// `oomharness compare` on recorded guests: scenarios/rollout/api-rollout.json run
// on bookworm with the shipped tree (units/: the API at OOMScoreAdjust=700) and
// the proposed one (proposed/: -900), recorded by `oomharness compare` itself on
// 2026-11-29 (tests/checks/fixtures/recorded-api-rollout-*.jsonl).
#include "suite/compare.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "checks/verdict.hpp"
#include "plan/planner.hpp"
#include "scenario/parse.hpp"

namespace fs = std::filesystem;
using namespace oom;

namespace {

const fs::path kSource = OOM_SOURCE_DIR;

RunReport recorded(const std::string& tree, const std::string& fixture) {
  RunReport r;
  auto c = loadScenarioFile(kSource / "scenarios/rollout/api-rollout.json", kSource / "scenarios/rollout" / tree);
  EXPECT_TRUE(c.ok());
  if (!c.ok()) return r;
  r.scenario = *c.scenario;
  r.plan = *makeGuestPlan(r.scenario);
  std::ifstream in(kSource / "tests/checks/fixtures" / fixture);
  EXPECT_TRUE(in) << fixture;
  for (std::string line; std::getline(in, line);) applyStreamLine(r.timeline, line);
  r.verdict = evaluate(r.scenario, r.timeline);
  return r;
}

const ComparedRow* row(const Comparison& c, const std::string& section, const std::string& what) {
  for (const auto& r : c.rows)
    if (r.section == section && r.what == what) return &r;
  return nullptr;
}

TEST(Compare, TheProposedTreeProtectsTheApiAndTheComparisonShowsWhoDiesInstead) {
  const RunReport current = recorded("units", "recorded-api-rollout-current-bookworm.jsonl");
  const RunReport proposed = recorded("proposed", "recorded-api-rollout-proposed-bookworm.jsonl");
  ASSERT_EQ(current.verdict.verdict, VerdictKind::pass);
  ASSERT_EQ(proposed.verdict.verdict, VerdictKind::fail);
  const Comparison c = compareRuns(current, proposed);

  const auto* verdict = row(c, "run", "verdict");
  ASSERT_NE(verdict, nullptr);
  EXPECT_EQ(verdict->current.substr(0, 4), "pass");
  EXPECT_EQ(verdict->proposed.substr(0, 4), "fail");
  const auto* first = row(c, "run", "first victim");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->current.substr(0, 11), "api.service");
  EXPECT_EQ(first->proposed.substr(0, 13), "batch.service");

  // Each setting with the file and line it came from, on each side.
  const auto* adj = row(c, "unit api.service", "OOMScoreAdjust");
  ASSERT_NE(adj, nullptr);
  EXPECT_EQ(adj->current, "700  (20-oom.conf:3)");
  EXPECT_EQ(adj->proposed, "-900  (20-oom.conf:3)");
  EXPECT_TRUE(adj->differs());
  const auto* policy = row(c, "unit api.service", "OOMPolicy");
  ASSERT_NE(policy, nullptr);
  EXPECT_FALSE(policy->differs());  // the scenario's inline override, on both sides
  const auto* kills = row(c, "unit api.service", "OOM kills");
  ASSERT_NE(kills, nullptr);
  EXPECT_EQ(kills->current, "1");
  EXPECT_EQ(kills->proposed, "0");

  // A check differs by its outcome, not by the pids and times in its text.
  const auto* order = row(c, "checks", "kill_order");
  ASSERT_NE(order, nullptr);
  EXPECT_TRUE(order->differs());
  const auto* collateral = row(c, "checks", "collateral");
  ASSERT_NE(collateral, nullptr);
  EXPECT_FALSE(collateral->differs());
  const auto* pressure = row(c, "checks", "pressure");
  ASSERT_NE(pressure, nullptr);
  EXPECT_NE(pressure->current, pressure->proposed);
  EXPECT_FALSE(pressure->differs());

  const std::string text = comparisonText(c);
  EXPECT_NE(text.find("  * OOMScoreAdjust"), std::string::npos) << text;
  EXPECT_NE(text.find("    OOMPolicy"), std::string::npos) << text;
  const auto json = comparisonJson(c);
  EXPECT_EQ(json["format"], kCompareFormat);
  EXPECT_EQ(json["rows"].size(), c.rows.size());
}

// The same files on trixie (systemd 257): the setup check cites the merged values.
TEST(Compare, OnTrixieTheSetupCheckCitesTheMergedDropInValue) {
  const RunReport r = recorded("units", "recorded-api-rollout-current-trixie.jsonl");
  EXPECT_EQ(r.verdict.verdict, VerdictKind::pass);
  bool cited = false;
  for (const auto& c : r.verdict.checks)
    if (c.name == "setup")
      for (const auto& e : c.evidence)
        cited = cited || (e.text.find("from unit files, as merged:") == 0 &&
                          e.text.find("OOMScoreAdjust=700 (") != std::string::npos &&
                          e.text.find("20-oom.conf:3)") != std::string::npos);
  EXPECT_TRUE(cited);
}

}  // namespace
