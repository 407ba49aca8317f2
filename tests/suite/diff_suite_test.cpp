// diff between suite folders (index.json and a run folder per cell, written
// from the recordings), and the inputs diff refuses.
#include <fstream>

#include "diff_folders.hpp"
#include "suite/diff.hpp"
#include "suite/matrix.hpp"

using namespace oom;
using namespace oomtest;

namespace {

const char* kThree = "three-services.json";
const char* kThreeBookworm = "recorded-three-services-bookworm.jsonl";
const char* kThreeTrixie = "recorded-three-services-trixie.jsonl";

SuiteDiff suiteDiffOf(const fs::path& old_dir, const fs::path& new_dir) {
  auto d = diffFolders(old_dir, new_dir, DiffTolerance{});
  EXPECT_TRUE(d) << d.error().str();
  return d ? *d : SuiteDiff{};
}

std::vector<std::string> summary(const SuiteDiff& d) {
  std::vector<std::string> out;
  for (const auto& c : d.changes)
    out.push_back(std::string(c.regression ? "R " : "C ") + c.scenario + "/" + c.release + " " + c.what +
                  (c.check.empty() ? "" : " " + c.check) + (c.what.find("killed") != std::string::npos ? " " + c.unit : ""));
  return out;
}

std::string errorOf(const fs::path& old_dir, const fs::path& new_dir) {
  auto d = diffFolders(old_dir, new_dir, DiffTolerance{});
  if (d) {
    ADD_FAILURE() << "no error; the diff:\n" << diffText(*d);
    return "";
  }
  EXPECT_EQ(d.error().kind, ErrorKind::input);
  return d.error().str();
}

std::vector<SuiteRun> lastNight() {
  return {
      {kThree, kThreeBookworm, "bookworm", 1},
      {kThree, kThreeBookworm, "bookworm", 2},
      {kThree, kThreeTrixie, "trixie", 1},
      {"restart-loop.json", "recorded-restart-loop-trixie.jsonl", "trixie", 1},
      {"image-worker.json", "recorded-image-worker-bookworm.jsonl", "bookworm", 1},
  };
}

}  // namespace

TEST(DiffSuites, TheSameSuiteTwiceIsNoChange) {
  const auto dir = scratch("suite-same");
  writeSuite(dir / "old", lastNight());
  writeSuite(dir / "new", lastNight());
  const auto d = suiteDiffOf(dir / "old", dir / "new");
  EXPECT_TRUE(d.changes.empty()) << diffText(d);
  EXPECT_EQ(d.cells_compared, 4u);
  EXPECT_EQ(diffExitStatus(d), 0);
  EXPECT_EQ(diffText(d), "diff: no change; 4 cells compared (tolerance 10s): exit 0\n");
}

// Tonight: repeat 2 of three-services on bookworm killed redis first, the
// trixie cell never ran, restart-loop left the suite and burst-many-small joined it.
TEST(DiffSuites, AFlakyVictimAndACellThatDidNotRunAreRegressionsARemovedCellIsNot) {
  const auto dir = scratch("suite-night");
  writeSuite(dir / "old", lastNight());
  writeSuite(dir / "new",
             {
                 {kThree, kThreeBookworm, "bookworm", 1},
                 {kThree, "", "bookworm", 2, CellStatus::done,
                  victimChanged(records(kThreeBookworm), "report-worker.service", "redis.service")},
                 {kThree, "", "trixie", 1, CellStatus::not_run},
                 {"image-worker.json", "recorded-image-worker-bookworm.jsonl", "bookworm", 1},
                 {"burst-many-small.json", "recorded-burst-many-small-trixie.jsonl", "trixie", 1},
             });
  const auto d = suiteDiffOf(dir / "old", dir / "new");
  const auto lines = summary(d);
  for (const char* want : {"R three-services/bookworm verdict", "R three-services/bookworm check first_killed",
                           "R three-services/bookworm first_victim",
                           "R three-services/bookworm new_killed_unit redis.service",
                           "R three-services/trixie cell_not_run", "C restart-loop/trixie cell_removed",
                           "C burst-many-small/trixie cell_added"})
    EXPECT_NE(std::find(lines.begin(), lines.end(), want), lines.end()) << want << "\n" << diffText(d);
  // report-worker was still killed in repeat 1: not "no longer killed".
  for (const auto& l : lines) EXPECT_EQ(l.find("no_longer_killed"), std::string::npos) << l;
  EXPECT_EQ(d.cells_compared, 2u);
  EXPECT_EQ(diffExitStatus(d), 1);

  const DiffChange* verdict = nullptr;
  const DiffChange* victim = nullptr;
  const DiffChange* not_run = nullptr;
  for (const auto& c : d.changes) {
    if (c.what == "verdict") verdict = &c;
    if (c.what == "first_victim") victim = &c;
    if (c.what == "cell_not_run") not_run = &c;
  }
  ASSERT_TRUE(verdict && victim && not_run) << diffText(d);
  EXPECT_EQ(verdict->old_value, "pass");
  EXPECT_EQ(verdict->new_value, "flaky: fail x1, pass x1");
  EXPECT_EQ(victim->new_value, "varies: redis.service (oomstress) x1, report-worker.service (oomstress) x1");
  ASSERT_EQ(victim->new_cites.size(), 2u);
  EXPECT_EQ(victim->new_cites[1].repeat, 2);
  EXPECT_EQ(fs::path(victim->new_cites[1].folder).filename(), "three-services-bookworm-2");
  EXPECT_TRUE(has(victim->new_cites[1].text, "kill t=47.923 pid 207 redis.service")) << victim->new_cites[1].text;
  EXPECT_EQ(not_run->old_value, "pass");
  EXPECT_EQ(not_run->new_value, "not run");
  ASSERT_EQ(not_run->new_cites.size(), 1u);
  EXPECT_EQ(not_run->new_cites[0].text, "not_run");
  EXPECT_TRUE(has(diffText(d), "REGRESSION three-services/trixie cell_not_run: pass -> not run")) << diffText(d);
}

TEST(DiffSuites, ARepeatThatDidNotRunIsReportedAndTheFinishedOnesCompared) {
  const auto dir = scratch("suite-repeat");
  writeSuite(dir / "old", {{kThree, kThreeBookworm, "bookworm", 1}, {kThree, kThreeBookworm, "bookworm", 2}});
  writeSuite(dir / "new",
             {{kThree, kThreeBookworm, "bookworm", 1}, {kThree, "", "bookworm", 2, CellStatus::pending}});
  const auto d = suiteDiffOf(dir / "old", dir / "new");
  ASSERT_EQ(d.changes.size(), 1u) << diffText(d);
  EXPECT_EQ(d.changes[0].what, "repeats_not_run");
  EXPECT_FALSE(d.changes[0].regression);
  EXPECT_EQ(d.changes[0].new_cites[0].text, "pending");
  EXPECT_EQ(diffExitStatus(d), 0);
}

TEST(DiffInput, EachBadFolderIsAnInputErrorNamingTheFileAndWhatWasExpected) {
  const auto dir = scratch("bad");
  writeRun(dir / "run", kThree, kThreeTrixie);
  writeSuite(dir / "suite", {{kThree, kThreeTrixie, "trixie", 1}});
  fs::create_directories(dir / "empty");

  auto e = errorOf(dir / "missing", dir / "run");
  EXPECT_TRUE(has(e, (dir / "missing").string() + ": no such folder; expected a suite folder (with index.json) "
                                                  "or a run folder (with result.json)")) << e;
  e = errorOf(dir / "run", dir / "empty");
  EXPECT_TRUE(has(e, (dir / "empty").string() + ": neither index.json nor result.json here")) << e;
  e = errorOf(dir / "run", dir / "run" / "result.json");
  EXPECT_TRUE(has(e, "not a folder")) << e;
  e = errorOf(dir / "suite", dir / "run");
  EXPECT_TRUE(has(e, "expected a suite folder (index.json) like OLD")) << e;
  EXPECT_TRUE(has(e, "got a run folder (result.json)")) << e;

  fs::create_directories(dir / "garbled");
  std::ofstream(dir / "garbled" / "result.json") << "{\"format\": \"oomharness-result/1\", ";
  e = errorOf(dir / "run", dir / "garbled");
  EXPECT_TRUE(has(e, (dir / "garbled" / "result.json").string() + ": expected JSON")) << e;

  fs::create_directories(dir / "other");
  std::ofstream(dir / "other" / "result.json") << R"({"format": "oomharness-result/9"})";
  e = errorOf(dir / "run", dir / "other");
  EXPECT_TRUE(has(e, "oomharness-result/1")) << e;

  // The index says done, the cell's result.json is gone.
  writeSuite(dir / "lost", {{kThree, kThreeTrixie, "trixie", 1}});
  fs::remove(dir / "lost" / "three-services-trixie-1" / "result.json");
  e = errorOf(dir / "suite", dir / "lost");
  EXPECT_TRUE(has(e, (dir / "lost" / "three-services-trixie-1" / "result.json").string())) << e;
  EXPECT_TRUE(has(e, "lists this cell as done")) << e;

  fs::create_directories(dir / "badindex");
  std::ofstream(dir / "badindex" / "index.json") << "[1,";
  e = errorOf(dir / "suite", dir / "badindex");
  EXPECT_TRUE(has(e, (dir / "badindex" / "index.json").string())) << e;
}

TEST(DiffSuites, ACellThatRunsOnlyNowIsAChange) {
  const auto dir = scratch("suite-now");
  writeSuite(dir / "old", {{kThree, "", "trixie", 1, CellStatus::pending}});
  writeSuite(dir / "new", {{kThree, kThreeTrixie, "trixie", 1}});
  const auto d = suiteDiffOf(dir / "old", dir / "new");
  ASSERT_EQ(d.changes.size(), 1u) << diffText(d);
  EXPECT_EQ(d.changes[0].what, "cell_now_run");
  EXPECT_EQ(d.changes[0].old_value, "not run");
  EXPECT_EQ(d.changes[0].new_value, "pass");
  EXPECT_EQ(diffExitStatus(d), 0);
  // And the other way round: finished last night, pending tonight.
  EXPECT_EQ(suiteDiffOf(dir / "new", dir / "old").changes.at(0).what, "cell_not_run");
}

// A run that died leaves no result.json; the runner marks the cell done,
// inconclusive, and says why. Its verdict is compared, nothing else is.
TEST(DiffSuites, ARunThatDiedIsComparedByItsVerdictOnly) {
  const auto dir = scratch("suite-died");
  writeSuite(dir / "old", {{kThree, kThreeTrixie, "trixie", 1}, {kThree, kThreeTrixie, "trixie", 2}});
  writeSuite(dir / "new", {{kThree, kThreeTrixie, "trixie", 1}, {kThree, "", "trixie", 2}});
  const auto d = suiteDiffOf(dir / "old", dir / "new");
  ASSERT_EQ(d.changes.size(), 1u) << diffText(d);
  const DiffChange& verdict = d.changes[0];
  EXPECT_EQ(verdict.what, "verdict");
  EXPECT_TRUE(verdict.regression);
  EXPECT_EQ(verdict.new_value, "flaky: inconclusive x1, pass x1");
  ASSERT_EQ(verdict.new_cites.size(), 2u);
  EXPECT_TRUE(has(verdict.new_cites[1].text, "inconclusive: the run ended (killed by signal Killed) without a result.json"))
      << verdict.new_cites[1].text;

  // The only run died: nothing but the verdict to compare, and diff says so.
  writeSuite(dir / "dead", {{kThree, "", "trixie", 1}});
  const auto dead = suiteDiffOf(dir / "old", dir / "dead");
  const auto lines = summary(dead);
  EXPECT_EQ(lines, (std::vector<std::string>{"R three-services/trixie verdict", "C three-services/trixie results_missing"}))
      << diffText(dead);
  EXPECT_EQ(diffExitStatus(dead), 1);
}

// The cells and folder names the suite runner itself builds (buildMatrix), each
// done with the recording of its scenario on its release.
TEST(DiffSuites, ReadsTheMatrixAsTheRunnerBuildsIt) {
  const auto dir = scratch("suite-matrix");
  const std::vector<std::string> releases{"bookworm", "trixie"};
  const auto input = loadSuiteScenarios(
      {source() / "scenarios/three-services.json", source() / "scenarios/restart-loop.json"}, releases);
  ASSERT_TRUE(input.ok());
  // recording(cell) -> the run folder's timeline; NEW's restart-loop on trixie ran as on bookworm.
  auto write = [&input, &releases](const fs::path& suite, bool tonight) {
    SuiteIndex index;
    index.releases = releases;
    index.repeat = 2;
    index.cells = buildMatrix(input.scenarios, releases, 2);
    for (auto& cell : index.cells) {
      const std::string release =
          tonight && cell.scenario == "restart-loop" && cell.release == "trixie" ? "bookworm" : cell.release;
      const auto report = runReport(cell.scenario + ".json", timeline("recorded-" + cell.scenario + "-" + release + ".jsonl"));
      EXPECT_TRUE(writeRunReports(suite / cell.folder, report).empty());
      cell.status = CellStatus::done;
      cell.verdict = toString(report.verdict.verdict);
    }
    std::ofstream(suite / kSuiteIndexFile) << nlohmann::json(index).dump(2);
  };
  write(dir / "old", false);
  write(dir / "new", true);
  EXPECT_TRUE(fs::exists(dir / "old" / "three-services-trixie-r2" / "result.json"));

  const auto same = suiteDiffOf(dir / "old", dir / "old");
  EXPECT_TRUE(same.changes.empty()) << diffText(same);
  EXPECT_EQ(same.cells_compared, 4u);

  const auto d = suiteDiffOf(dir / "old", dir / "new");
  ASSERT_EQ(summary(d), std::vector<std::string>{"C restart-loop/trixie check witnesses"}) << diffText(d);
  const DiffChange& w = d.changes[0];
  EXPECT_EQ(w.old_value, "pass");
  EXPECT_EQ(w.new_value, "note");
  ASSERT_EQ(w.new_cites.size(), 2u);
  EXPECT_EQ(fs::path(w.new_cites[1].folder).filename(), "restart-loop-trixie-r2");
  EXPECT_TRUE(has(diffText(d), "[old r1: pass: all agree")) << diffText(d);
  EXPECT_EQ(diffExitStatus(d), 0);
}
