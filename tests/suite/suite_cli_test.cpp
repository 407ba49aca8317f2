// `oomharness run` as a suite, through the built binary, without booting: bad
// input is exit 2 with every error named and nothing created; --list shows the
// cells each shard runs, from the flag or from a CI system's variables.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;

namespace {

struct Ran {
  int status = -1;
  std::string output;
};

Ran oomharness(const std::string& args, const std::string& env = "") {
  const auto r = oomtest::runCommand("env " + env + " " + OOMHARNESS_BIN + " " + args);
  return Ran{r.status, r.output};
}

// The cell lines of --list output (comment lines dropped).
std::vector<std::string> cells(const std::string& output) {
  std::vector<std::string> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#' && line.find('\t') != std::string::npos) lines.push_back(line);
  return lines;
}

fs::path cliScratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("oom-suite-cli-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const std::string kScenarios = std::string(OOM_SOURCE_DIR) + "/scenarios";
// No CI variables from the environment this test runs in.
const std::string kNoShardEnv = "-u CI_NODE_INDEX -u CI_NODE_TOTAL -u OOMHARNESS_SHARD -u CIRCLE_NODE_INDEX "
                                "-u CIRCLE_NODE_TOTAL -u BUILDKITE_PARALLEL_JOB -u BUILDKITE_PARALLEL_JOB_COUNT";

}  // namespace

TEST(SuiteCli, EveryBadFileIsNamedAndNothingIsCreated) {
  const auto dir = cliScratch("bad");
  std::ofstream(dir / "a-bad.json") << R"({"name": "a", "services": [{"name": "x", "unit": {"OOMPolicy": "murder"}}]})";
  std::ofstream(dir / "b-bad.json") << "{";
  fs::copy_file(kScenarios + "/three-services.json", dir / "c-good.json");
  const auto results = dir / "results";
  const Ran ran = oomharness("run --results " + results.string() + " " + dir.string(), kNoShardEnv);
  EXPECT_EQ(ran.status, 2) << ran.output;
  EXPECT_NE(ran.output.find("a-bad.json"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("OOMPolicy"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("b-bad.json"), std::string::npos) << ran.output;
  EXPECT_FALSE(fs::exists(results)) << "nothing may be created for bad input";
}

TEST(SuiteCli, ABadShardIsRefusedBeforeAnythingIsCreated) {
  const auto dir = cliScratch("shard");
  const auto results = dir / "results";
  const Ran ran = oomharness("run --release all --results " + results.string() + " " + kScenarios + " --shard 0/2",
                             kNoShardEnv);
  EXPECT_EQ(ran.status, 2) << ran.output;
  EXPECT_NE(ran.output.find("--shard"), std::string::npos) << ran.output;
  EXPECT_FALSE(fs::exists(results));
}

TEST(SuiteCli, ShardsListedTogetherAreTheWholeMatrixOnce) {
  const Ran all = oomharness("run " + kScenarios + " --release all --list", kNoShardEnv);
  ASSERT_EQ(all.status, 0) << all.output;
  const auto every = cells(all.output);
  ASSERT_GE(every.size(), 2u);
  std::multiset<std::string> together;
  for (int i = 1; i <= 3; ++i) {
    const Ran part = oomharness("run " + kScenarios + " --release all --list --shard " + std::to_string(i) + "/3",
                                kNoShardEnv);
    ASSERT_EQ(part.status, 0) << part.output;
    for (const auto& c : cells(part.output)) together.insert(c);
    EXPECT_EQ(cells(part.output), cells(oomharness("run " + kScenarios + " --release all --list --shard " +
                                                   std::to_string(i) + "/3", kNoShardEnv).output))
        << "the same shard every time";
  }
  EXPECT_EQ(together, std::multiset<std::string>(every.begin(), every.end()));
}

TEST(SuiteCli, GitLabsParallelVariablesPickTheShard) {
  const Ran flag = oomharness("run " + kScenarios + " --list --shard 2/2", kNoShardEnv);
  const Ran gitlab = oomharness("run " + kScenarios + " --list", kNoShardEnv + " CI_NODE_INDEX=2 CI_NODE_TOTAL=2");
  ASSERT_EQ(gitlab.status, 0) << gitlab.output;
  EXPECT_EQ(cells(gitlab.output), cells(flag.output));
  EXPECT_NE(gitlab.output.find("# shard 2/2"), std::string::npos) << gitlab.output;
  const Ran bad = oomharness("run " + kScenarios + " --list", kNoShardEnv + " CI_NODE_INDEX=3 CI_NODE_TOTAL=2");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("CI_NODE_INDEX"), std::string::npos) << bad.output;
}

TEST(SuiteCli, RepeatAndJobsOutOfRangeAreRefusedEvenForOneScenario) {
  for (const std::string flags : {"--repeat 0", "--repeat 101", "-j 0", "-j 65"}) {
    const Ran ran = oomharness("run " + kScenarios + "/three-services.json " + flags, kNoShardEnv);
    EXPECT_EQ(ran.status, 2) << flags << "\n" << ran.output;
    EXPECT_NE(ran.output.find("not in range"), std::string::npos) << ran.output;
  }
}
