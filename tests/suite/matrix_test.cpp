// The matrix a suite runs, decided before anything boots: files from folders in
// a stable order, releases, cells, shards from flags and from CI variables.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "suite/matrix.hpp"

namespace fs = std::filesystem;
using namespace oom;

namespace {

const fs::path kScenarios = fs::path(OOM_SOURCE_DIR) / "scenarios";

fs::path matrixScratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("oom-suite-matrix-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<SuiteScenario> shipped(std::vector<std::string> releases = {}) {
  auto files = expandScenarioInputs({kScenarios.string()});
  EXPECT_TRUE(files);
  auto input = loadSuiteScenarios(*files, releases);
  EXPECT_TRUE(input.ok()) << (input.errors.empty() ? "" : input.errors.front().str());
  return input.scenarios;
}

}  // namespace

TEST(SuiteMatrix, AFolderIsItsJsonFilesByNameNotItsSubfolders) {
  const auto files = expandScenarioInputs({kScenarios.string()});
  ASSERT_TRUE(files) << files.error().str();
  ASSERT_FALSE(files->empty());
  EXPECT_TRUE(std::is_sorted(files->begin(), files->end()));
  for (const auto& f : *files) {
    EXPECT_EQ(f.parent_path(), kScenarios) << f << ": examples/ and schema/ are not part of scenarios/";
    EXPECT_EQ(f.extension(), ".json");
  }
  // Inputs keep the order given; a folder expands in place.
  const auto mixed = expandScenarioInputs(
      {(kScenarios / "examples/wrong-expectations.json").string(), (kScenarios / "three-services.json").string()});
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->front().filename(), "wrong-expectations.json");
}

TEST(SuiteMatrix, MissingEmptyOrRepeatedInputsAreInputErrorsNamingThem) {
  const auto empty = matrixScratch("empty");
  for (const std::vector<std::string>& inputs :
       {std::vector<std::string>{"/no/such/scenarios"}, std::vector<std::string>{empty.string()},
        std::vector<std::string>{(kScenarios / "three-services.json").string(), kScenarios.string()},
        std::vector<std::string>{}}) {
    const auto files = expandScenarioInputs(inputs);
    ASSERT_FALSE(files);
    EXPECT_EQ(files.error().kind, ErrorKind::input);
    if (!inputs.empty()) {
      EXPECT_NE(files.error().str().find(inputs.front().substr(0, 10)), std::string::npos);
    }
  }
}

TEST(SuiteMatrix, ReleasesAreAListAllOrEachScenariosOwn) {
  EXPECT_EQ(*parseReleaseList(""), std::vector<std::string>{});
  EXPECT_EQ(*parseReleaseList("all"), (std::vector<std::string>{"bookworm", "trixie"}));
  EXPECT_EQ(*parseReleaseList("trixie,bookworm"), (std::vector<std::string>{"trixie", "bookworm"}));
  for (const char* bad : {"sid", "bookworm,", "bookworm,bookworm", ",trixie"}) {
    const auto r = parseReleaseList(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().where, "--release");
  }
}

TEST(SuiteMatrix, CellsAreScenarioByReleaseByRepeatWithFoldersThatCannotCollide) {
  const auto scenarios = shipped({"bookworm", "trixie"});
  const auto cells = buildMatrix(scenarios, {"bookworm", "trixie"}, 3);
  ASSERT_EQ(cells.size(), scenarios.size() * 2 * 3);
  EXPECT_EQ(cells[0].release, "bookworm");
  EXPECT_EQ(cells[0].repeat, 1);
  EXPECT_EQ(cells[2].repeat, 3);
  EXPECT_EQ(cells[3].release, "trixie");
  EXPECT_EQ(cells[0].folder, cells[0].scenario + "-bookworm-r1");
  std::set<std::string> folders;
  for (const auto& c : cells) EXPECT_TRUE(folders.insert(c.folder).second) << c.folder;
  // No releases named: each scenario's own, and no -rK for a single repeat.
  const auto own = buildMatrix(scenarios, {}, 1);
  ASSERT_EQ(own.size(), scenarios.size());
  EXPECT_EQ(own[0].release, scenarios[0].scenario.guest.release);
  EXPECT_EQ(own[0].folder, own[0].scenario + "-" + own[0].release);
}

TEST(SuiteMatrix, TwoFilesWithOneScenarioNameAreRefusedNamingBoth) {
  const auto dir = matrixScratch("dupe");
  fs::copy_file(kScenarios / "three-services.json", dir / "a.json");
  fs::copy_file(kScenarios / "three-services.json", dir / "b.json");
  const auto files = expandScenarioInputs({dir.string()});
  ASSERT_TRUE(files);
  const auto input = loadSuiteScenarios(*files, {});
  ASSERT_EQ(input.errors.size(), 1u);
  EXPECT_NE(input.errors[0].str().find("b.json"), std::string::npos);
  EXPECT_NE(input.errors[0].str().find("a.json"), std::string::npos);
}

TEST(SuiteMatrix, ShardFlagIsOneBasedIOfN) {
  EXPECT_EQ(parseShard("1/1")->total, 1);
  EXPECT_EQ(parseShard("3/4")->index, 3);
  for (const char* bad : {"0/4", "5/4", "1/0", "4", "a/b", "1/4/2", "", "1/1001", "-1/2"})
    EXPECT_FALSE(parseShard(bad)) << bad;
}

TEST(SuiteMatrix, ShardFromEachCiSystemsOwnVariables) {
  EXPECT_FALSE(*shardFromEnvironment({}));
  auto gitlab = shardFromEnvironment({{"CI_NODE_INDEX", "2"}, {"CI_NODE_TOTAL", "3"}});
  ASSERT_TRUE(gitlab && *gitlab);
  EXPECT_EQ((*gitlab)->index, 2);
  auto circle = shardFromEnvironment({{"CIRCLE_NODE_INDEX", "0"}, {"CIRCLE_NODE_TOTAL", "3"}});
  ASSERT_TRUE(circle && *circle);
  EXPECT_EQ((*circle)->index, 1);
  auto buildkite = shardFromEnvironment({{"BUILDKITE_PARALLEL_JOB", "2"}, {"BUILDKITE_PARALLEL_JOB_COUNT", "3"}});
  ASSERT_TRUE(buildkite && *buildkite);
  EXPECT_EQ((*buildkite)->index, 3);
  auto ours = shardFromEnvironment({{"OOMHARNESS_SHARD", "1/2"}, {"CI_NODE_INDEX", "2"}, {"CI_NODE_TOTAL", "2"}});
  ASSERT_TRUE(ours && *ours);
  EXPECT_EQ((*ours)->index, 1) << "ours wins over the CI system's";
  const auto half = shardFromEnvironment({{"CI_NODE_INDEX", "1"}});
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().str().find("CI_NODE_TOTAL"), std::string::npos);
  EXPECT_FALSE(shardFromEnvironment({{"CIRCLE_NODE_INDEX", "3"}, {"CIRCLE_NODE_TOTAL", "3"}}))
      << "CircleCI counts from 0";
}

TEST(SuiteMatrix, ShardsPartitionTheMatrixWholeGroupsBalancedAndReproducibly) {
  const auto scenarios = shipped({"bookworm", "trixie"});
  std::map<std::string, double> limits;
  for (const auto& s : scenarios) limits[s.scenario.name] = s.scenario.time_limit_sec;
  const auto cells = buildMatrix(scenarios, {"bookworm", "trixie"}, 2);
  for (int total : {1, 2, 3, 4, 7, 40}) {
    std::multiset<std::string> seen;
    std::vector<double> load;
    for (int i = 1; i <= total; ++i) {
      const auto part = selectShard(cells, limits, {i, total});
      EXPECT_EQ(part, selectShard(cells, limits, {i, total})) << "the same split every time";
      double sum = 0;
      for (const auto& c : part) {
        seen.insert(c.folder);
        sum += limits[c.scenario];
      }
      load.push_back(sum);
      // Both repeats of a scenario x release land in the same shard.
      for (const auto& c : part)
        EXPECT_EQ(std::count_if(part.begin(), part.end(),
                                [&](const SuiteCell& o) { return o.scenario == c.scenario && o.release == c.release; }),
                  2);
      EXPECT_TRUE(std::is_sorted(part.begin(), part.end(), [&](const SuiteCell& a, const SuiteCell& b) {
        return std::find_if(cells.begin(), cells.end(), [&](const SuiteCell& c) { return c.folder == a.folder; }) <
               std::find_if(cells.begin(), cells.end(), [&](const SuiteCell& c) { return c.folder == b.folder; });
      })) << "matrix order within a shard";
    }
    EXPECT_EQ(seen.size(), cells.size()) << total << " shards: each cell exactly once";
    for (const auto& c : cells) EXPECT_EQ(seen.count(c.folder), 1u) << c.folder;
    // Greedy by time limit: no shard is more than the longest group over the lightest.
    if (total <= 4) {
      const double longest = 2 * std::max_element(limits.begin(), limits.end(), [](auto& a, auto& b) {
                                   return a.second < b.second;
                                 })->second;
      EXPECT_LE(*std::max_element(load.begin(), load.end()) - *std::min_element(load.begin(), load.end()), longest);
    }
  }
}
