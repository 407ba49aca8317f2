// `oomharness diff` through the built binary: its exit statuses (0 no
// regression, 1 a regression, 2 bad input with nothing on stdout) and --json.
// Boots nothing: the folders are written from the recordings.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "diff_folders.hpp"
#include "command.hpp"

using namespace oomtest;

namespace {

struct Output {
  int status = -1;
  std::string out, err;
};

Output oomharness(const std::string& args, const fs::path& scratch_dir) {
  const auto r = oomtest::runCommand(std::string(OOMHARNESS_BIN) + " " + args, (scratch_dir / "stderr.txt").string());
  return Output{r.status, r.output, r.error};
}

}  // namespace

TEST(DiffCli, ExitsZeroOneOrTwo) {
  const auto dir = scratch("cli");
  const auto recs = records("recorded-three-services-trixie.jsonl");
  writeRun(dir / "last-night", "three-services.json", fold(recs));
  writeRun(dir / "same", "three-services.json", fold(recs));
  writeRun(dir / "tonight", "three-services.json",
           fold(victimChanged(recs, "report-worker.service", "redis.service")));
  writeSuite(dir / "suite", {{"three-services.json", "recorded-three-services-trixie.jsonl", "trixie", 1}});
  const std::string old_dir = (dir / "last-night").string();

  auto o = oomharness("diff " + old_dir + " " + (dir / "same").string(), dir.path());
  EXPECT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_EQ(o.out, "diff: no change; 1 cell compared (tolerance 10s): exit 0\n");

  o = oomharness("diff " + old_dir + " " + (dir / "tonight").string(), dir.path());
  EXPECT_EQ(o.status, 1) << o.out << o.err;
  EXPECT_TRUE(has(o.out, "REGRESSION three-services/trixie first_victim: report-worker.service (oomstress) -> "
                         "redis.service (oomstress)")) << o.out;

  o = oomharness("diff --json --tolerance 25% " + old_dir + " " + (dir / "tonight").string(), dir.path());
  EXPECT_EQ(o.status, 1) << o.err;
  const auto json = nlohmann::json::parse(o.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << o.out;
  EXPECT_EQ(json["format"], "oomharness-diff/1");
  EXPECT_EQ(json["exit_status"], 1);
  EXPECT_EQ(json["tolerance"]["percent"], 25.0);
  EXPECT_GT(json["regressions"].get<int>(), 0);

  // Bad input: the error on stderr, naming the file; nothing on stdout.
  for (const auto& [args, said] : std::vector<std::pair<std::string, std::string>>{
           {"diff " + old_dir + " " + (dir / "missing").string(), (dir / "missing").string() + ": no such folder"},
           {"diff " + (dir / "suite").string() + " " + old_dir, old_dir + ": expected a suite folder"},
           {"diff " + old_dir + " " + old_dir + "/result.json", "result.json: not a folder"},
           {"diff --tolerance soon " + old_dir + " " + old_dir, "--tolerance: 'soon': expected a tolerance"},
           {"diff " + old_dir, "new is required"},
       }) {
    o = oomharness(args, dir.path());
    EXPECT_EQ(o.status, 2) << args << "\n" << o.out << o.err;
    EXPECT_EQ(o.out, "") << args;
    EXPECT_TRUE(has(o.err, said)) << args << "\n" << o.err;
  }
}

// `compare` validates the scenario with both trees before anything boots: a
// refused value in the proposed tree is exit 2 naming the file and line, and no
// results folder is created.
TEST(CompareCli, ABadProposedTreeIsExitTwoWithFileAndLineAndNothingStarts) {
  const auto dir = scratch("compare-cli");
  const fs::path source = OOM_SOURCE_DIR;
  fs::create_directories(dir.path() / "proposed/api.service.d");
  std::ofstream(dir.path() / "proposed/api.service.d/30-oom.conf") << "[Service]\nOOMScoreAdjust=-2000\n";
  const auto results = dir.path() / "results";
  const auto o = oomharness("compare " + (source / "scenarios/rollout/api-rollout.json").string() + " --current " +
                                (source / "scenarios/rollout/units").string() + " --proposed " +
                                (dir.path() / "proposed").string() + " --results " + results.string(),
                            dir.path());
  EXPECT_EQ(o.status, 2) << o.out << o.err;
  EXPECT_TRUE(has(o.err, "30-oom.conf:2: OOMScoreAdjust=-2000: systemd refuses it")) << o.err;
  EXPECT_TRUE(has(o.err, "nothing was started")) << o.err;
  EXPECT_FALSE(fs::exists(results));
}
