// diff between run folders and suite folders written from real recordings
// (tests/checks/fixtures/recorded-*.jsonl), and edits of them.
#include <fstream>

#include "diff_folders.hpp"
#include "suite/diff.hpp"

using namespace oom;
using namespace oomtest;

namespace {

DiffTolerance tolerance(const std::string& text) {
  auto t = parseTolerance(text);
  EXPECT_TRUE(t) << text;
  return t ? *t : DiffTolerance{};
}

SuiteDiff diffOf(const fs::path& old_dir, const fs::path& new_dir, const std::string& tol = "10s") {
  auto d = diffFolders(old_dir, new_dir, tolerance(tol));
  EXPECT_TRUE(d) << d.error().str();
  return d ? *d : SuiteDiff{};
}

const DiffChange* change(const SuiteDiff& d, const std::string& what, const std::string& detail = "") {
  for (const auto& c : d.changes)
    if (c.what == what && (detail.empty() || c.check == detail || c.unit == detail || c.scenario == detail))
      return &c;
  return nullptr;
}

std::string text(const SuiteDiff& d) { return diffText(d); }

}  // namespace

TEST(DiffTolerance, SecondsOrAShareOfOld) {
  EXPECT_EQ(tolerance("10s").seconds, 10);
  EXPECT_EQ(tolerance("500ms").seconds, 0.5);
  EXPECT_EQ(tolerance("3").seconds, 3);
  const auto rel = tolerance("25%");
  EXPECT_TRUE(rel.relative);
  EXPECT_DOUBLE_EQ(rel.allowedFor(8), 2);
  for (const char* bad : {"", "-1s", "ten", "%", "-5%", "10x"}) EXPECT_FALSE(parseTolerance(bad)) << bad;
}

TEST(DiffRuns, TheSameRecordingTwiceIsNoChange) {
  for (const auto& rec : recordings()) {
    SCOPED_TRACE(rec.file);
    const auto dir = scratch("same");
    writeRun(dir / "old", rec.scenario, rec.file);
    writeRun(dir / "new", rec.scenario, rec.file);
    const auto d = diffOf(dir / "old", dir / "new", "0s");
    EXPECT_TRUE(d.changes.empty()) << text(d);
    EXPECT_EQ(d.cells_compared, 1u);
    EXPECT_EQ(diffExitStatus(d), 0);
    EXPECT_TRUE(has(text(d), "diff: no change; 1 cell compared (tolerance 0s): exit 0")) << text(d);
  }
}

// The same scenario on the two releases: same victim, both pass; the first kill
// came 25.96 s after pressure on bookworm (t=47.923, pid 207, pressure at
// t=21.964) and 27.40 s on trixie (t=48.970, pid 216, pressure at t=21.571).
TEST(DiffRuns, ThreeServicesBookwormToTrixieMovesTheFirstKillBy1_44s) {
  const auto dir = scratch("releases");
  writeRun(dir / "bookworm", "three-services.json", "recorded-three-services-bookworm.jsonl");
  writeRun(dir / "trixie", "three-services.json", "recorded-three-services-trixie.jsonl");

  const auto within = diffOf(dir / "bookworm", dir / "trixie");
  EXPECT_TRUE(within.changes.empty()) << text(within);
  ASSERT_EQ(within.notes.size(), 1u);
  EXPECT_EQ(within.notes[0], "comparing three-services on bookworm (OLD) with three-services on trixie (NEW)");

  const auto strict = diffOf(dir / "bookworm", dir / "trixie", "1s");
  ASSERT_EQ(strict.changes.size(), 1u) << text(strict);
  const DiffChange& c = strict.changes[0];
  EXPECT_EQ(c.what, "first_kill_time");
  EXPECT_TRUE(c.regression);
  EXPECT_NEAR(*c.old_sec, 25.959, 0.001);
  EXPECT_NEAR(*c.new_sec, 27.399, 0.001);
  ASSERT_EQ(c.old_cites.size(), 1u);
  EXPECT_TRUE(has(c.old_cites[0].text, "kill t=47.923 pid 207 report-worker.service (oomstress)")) << c.old_cites[0].text;
  EXPECT_TRUE(has(c.old_cites[0].text, "pressure from t=21.964")) << c.old_cites[0].text;
  EXPECT_TRUE(has(c.old_cites[0].line, "Killed process 207 (oomstress)")) << c.old_cites[0].line;
  EXPECT_TRUE(has(c.new_cites[0].text, "kill t=48.970 pid 216")) << c.new_cites[0].text;
  EXPECT_EQ(diffExitStatus(strict), 1);
  EXPECT_TRUE(has(text(strict), "REGRESSION three-services/trixie first_kill_time: 25.96s -> 27.40s "
                                "(later by 1.44s, more than the tolerance 1s)"))
      << text(strict);

  // 5% of 25.96 s is 1.30 s: still moved; 10% (2.60 s) is not.
  EXPECT_EQ(diffOf(dir / "bookworm", dir / "trixie", "5%").regressions(), 1u);
  EXPECT_TRUE(diffOf(dir / "bookworm", dir / "trixie", "10%").changes.empty());
  // The other way round the kill came earlier: reported, not a regression.
  const auto back = diffOf(dir / "trixie", dir / "bookworm", "1s");
  ASSERT_EQ(back.changes.size(), 1u) << text(back);
  EXPECT_FALSE(back.changes[0].regression);
  EXPECT_EQ(diffExitStatus(back), 0);
}

// systemd 252 reports the loop's later kills as signal (the witnesses check is a
// note); 257 reports every kill (pass). A check that changed, no regression.
TEST(DiffRuns, RestartLoopTrixieToBookwormChangesTheWitnessesCheckOnly) {
  const auto dir = scratch("restart-loop");
  writeRun(dir / "trixie", "restart-loop.json", "recorded-restart-loop-trixie.jsonl");
  writeRun(dir / "bookworm", "restart-loop.json", "recorded-restart-loop-bookworm.jsonl");
  const auto d = diffOf(dir / "trixie", dir / "bookworm");
  const auto* w = change(d, "check", "witnesses");
  ASSERT_NE(w, nullptr) << text(d);
  EXPECT_EQ(w->old_value, "pass");
  EXPECT_EQ(w->new_value, "note");
  EXPECT_FALSE(w->regression);
  EXPECT_TRUE(has(w->new_cites[0].text, "note: ")) << w->new_cites[0].text;
  EXPECT_EQ(change(d, "verdict"), nullptr) << text(d);
  EXPECT_EQ(d.regressions(), 0u) << text(d);
}

// The first kill given to redis: every rule about victims fires, each citing
// the kill it compared.
TEST(DiffRuns, AnotherFirstVictimIsARegressionCitingBothKills) {
  const auto dir = scratch("victim");
  const auto recs = records("recorded-three-services-trixie.jsonl");
  writeRun(dir / "old", "three-services.json", fold(recs));
  writeRun(dir / "new", "three-services.json", fold(victimChanged(recs, "report-worker.service", "redis.service")));
  const auto d = diffOf(dir / "old", dir / "new");
  EXPECT_EQ(diffExitStatus(d), 1);

  const auto* verdict = change(d, "verdict");
  ASSERT_NE(verdict, nullptr) << text(d);
  EXPECT_EQ(verdict->old_value, "pass");
  EXPECT_EQ(verdict->new_value, "fail");
  EXPECT_TRUE(verdict->regression);

  const auto* first = change(d, "check", "first_killed");
  ASSERT_NE(first, nullptr) << text(d);
  EXPECT_TRUE(first->regression);
  EXPECT_TRUE(has(first->new_cites[0].text, "fail: first victim: redis")) << first->new_cites[0].text;

  const auto* victim = change(d, "first_victim");
  ASSERT_NE(victim, nullptr) << text(d);
  EXPECT_TRUE(victim->regression);
  EXPECT_EQ(victim->old_value, "report-worker.service (oomstress)");
  EXPECT_EQ(victim->new_value, "redis.service (oomstress)");
  EXPECT_TRUE(has(victim->old_cites[0].text, "kill t=48.970 pid 216 report-worker.service")) << victim->old_cites[0].text;
  EXPECT_TRUE(has(victim->new_cites[0].text, "kill t=48.970 pid 216 redis.service")) << victim->new_cites[0].text;

  const auto* added = change(d, "new_killed_unit", "redis.service");
  ASSERT_NE(added, nullptr) << text(d);
  EXPECT_TRUE(added->regression);
  EXPECT_TRUE(has(added->old_cites[0].text, "killed: report-worker.service")) << added->old_cites[0].text;
  const auto* gone = change(d, "no_longer_killed", "report-worker.service");
  ASSERT_NE(gone, nullptr) << text(d);
  EXPECT_FALSE(gone->regression);
}

// Everything from the first kill on, 20 s later.
TEST(DiffRuns, AKillTwentySecondsLaterIsARegressionBeyondTheTolerance) {
  const auto dir = scratch("delayed");
  const auto recs = records("recorded-three-services-trixie.jsonl");
  writeRun(dir / "old", "three-services.json", fold(recs));
  writeRun(dir / "new", "three-services.json", fold(killDelayed(recs, 20)));
  const auto d = diffOf(dir / "old", dir / "new");
  const auto* moved = change(d, "first_kill_time");
  ASSERT_NE(moved, nullptr) << text(d);
  EXPECT_TRUE(moved->regression);
  EXPECT_NEAR(*moved->new_sec - *moved->old_sec, 20, 1e-6);
  EXPECT_TRUE(has(moved->new_cites[0].text, "kill t=68.970 pid 216")) << moved->new_cites[0].text;
  EXPECT_EQ(change(d, "first_victim"), nullptr) << text(d);
  EXPECT_EQ(diffExitStatus(d), 1);
  // 25 s of tolerance: the same kill, not a change.
  EXPECT_EQ(change(diffOf(dir / "old", dir / "new", "25s"), "first_kill_time"), nullptr);
}

// Both recorded on a sampling observer: on bookworm the guest spent 95.59 s
// with MemAvailable near zero (trixie 90.98 s), its longest interval between
// guest samples was 2.08 s (trixie 0.52 s), and the kill came 128.71 s after
// pressure (trixie 124.73 s). Within 10 s all the same; beyond 1 s each is later
// or longer going from trixie to bookworm.
TEST(DiffRuns, ThrashNoSwapTrixieToBookwormStallsLongerAndKillsLater) {
  const auto dir = scratch("thrash");
  writeRun(dir / "trixie", "thrash-no-swap.json", "recorded-thrash-no-swap-trixie.jsonl");
  writeRun(dir / "bookworm", "thrash-no-swap.json", "recorded-thrash-no-swap-bookworm.jsonl");
  const auto loose = diffOf(dir / "trixie", dir / "bookworm");
  EXPECT_EQ(loose.regressions(), 0u) << text(loose);

  const auto d = diffOf(dir / "trixie", dir / "bookworm", "1s");
  const auto* near_zero = change(d, "stall_near_zero");
  const auto* interval = change(d, "stall_sample_interval");
  const auto* kill = change(d, "first_kill_time");
  ASSERT_TRUE(near_zero && interval && kill) << text(d);
  EXPECT_TRUE(near_zero->regression && interval->regression && kill->regression);
  EXPECT_EQ(near_zero->old_value, "90.98s");
  EXPECT_EQ(near_zero->new_value, "95.59s");
  EXPECT_TRUE(has(near_zero->new_cites[0].text, "for 95.59s over 292 guest samples")) << near_zero->new_cites[0].text;
  EXPECT_EQ(interval->new_value, "2.08s");
  EXPECT_TRUE(has(interval->new_cites[0].text, "2.08s from t=113.857")) << interval->new_cites[0].text;
  EXPECT_TRUE(has(kill->new_cites[0].text, "kill t=147.648 pid 170 batch.service")) << kill->new_cites[0].text;
  // The observer's own 2.1 s gap on bookworm makes the observation check a note: a change, not a regression.
  const auto* observation = change(d, "check", "observation");
  ASSERT_NE(observation, nullptr) << text(d);
  EXPECT_EQ(observation->old_value, "pass");
  EXPECT_EQ(observation->new_value, "note");
  EXPECT_FALSE(observation->regression);
}

// The guest's end record lost: the run is inconclusive. pass -> inconclusive
// is a worse verdict; the timeline_complete check going inconclusive is a
// change that the verdict already reports as a regression.
TEST(DiffRuns, PassToInconclusiveIsARegressionAndBackIsNot) {
  const auto dir = scratch("inconclusive");
  auto recs = records("recorded-three-services-trixie.jsonl");
  writeRun(dir / "whole", "three-services.json", fold(recs));
  std::erase_if(recs, [](const nlohmann::json& r) { return r["type"] == "end"; });
  writeRun(dir / "cut", "three-services.json", fold(recs));

  const auto d = diffOf(dir / "whole", dir / "cut");
  const auto* verdict = change(d, "verdict");
  ASSERT_NE(verdict, nullptr) << text(d);
  EXPECT_EQ(verdict->new_value, "inconclusive");
  EXPECT_TRUE(verdict->regression);
  const auto* complete = change(d, "check", "timeline_complete");
  ASSERT_NE(complete, nullptr) << text(d);
  EXPECT_FALSE(complete->regression);
  EXPECT_EQ(diffExitStatus(d), 1);

  const auto back = diffOf(dir / "cut", dir / "whole");
  ASSERT_NE(change(back, "verdict"), nullptr) << text(back);
  EXPECT_EQ(back.regressions(), 0u) << text(back);
  EXPECT_EQ(diffExitStatus(back), 0);
}
