#pragma once
// What a suite runs: the scenario files named on the command line (a folder
// stands for the *.json files directly in it, by name), each on each release
// asked for, each K times, in that order; then this shard's part of it.
// Everything here is decided before anything boots: a bad file, an unknown
// release, two files with the same scenario name or a budget that does not fit
// on a release is an input error (exit 2) and nothing runs.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "oom/expected.hpp"
#include "scenario/scenario.hpp"
#include "suite/index.hpp"

namespace oom {

// The *.json files of `inputs`, in a stable order: each input in the order given,
// a folder's files sorted by name (not recursive: scenarios/examples/ and
// scenarios/schema/ are not part of scenarios/). A missing path, a folder with no
// *.json file, or a file named twice is an input error naming it.
Expected<std::vector<std::filesystem::path>> expandScenarioInputs(const std::vector<std::string>& inputs);

// "bookworm,trixie", "all" (every supported release) or one release. Empty: each
// scenario's own guest.release (an empty result). An unknown or repeated release
// is an input error naming the flag.
Expected<std::vector<std::string>> parseReleaseList(const std::string& text);

struct SuiteScenario {
  std::filesystem::path file;
  Scenario scenario;
};

// Validates every file (all errors of all files collected, each naming its file)
// and the memory budget of each scenario on each release asked for; two files
// whose scenarios share a name are refused (cells and diffs are keyed by it).
struct SuiteInput {
  std::vector<SuiteScenario> scenarios;
  std::vector<Error> errors, warnings;
  bool ok() const { return errors.empty(); }
};
SuiteInput loadSuiteScenarios(const std::vector<std::filesystem::path>& files,
                              const std::vector<std::string>& releases,
                              const std::optional<std::filesystem::path>& units_dir = std::nullopt);

// Every cell, in order: scenario (file order) x release (as given, or the
// scenario's own) x repeat 1..K. Folder names: <scenario>-<release>, with
// -r<k> appended when K > 1.
std::vector<SuiteCell> buildMatrix(const std::vector<SuiteScenario>& scenarios,
                                   const std::vector<std::string>& releases, int repeat);

// --shard I/N: 1 <= I <= N <= 1000.
struct Shard {
  int index = 1, total = 1;  // 1-based
};
Expected<Shard> parseShard(const std::string& text);

// The shard a CI system's parallel jobs ask for through the environment, when
// one of these is set (first found wins); index and total as each system counts:
//   OOMHARNESS_SHARD=I/N                                 ours, 1-based
//   CI_NODE_INDEX, CI_NODE_TOTAL                         GitLab parallel:, 1-based
//   CIRCLE_NODE_INDEX, CIRCLE_NODE_TOTAL                 CircleCI, 0-based
//   BUILDKITE_PARALLEL_JOB, BUILDKITE_PARALLEL_JOB_COUNT Buildkite, 0-based
// GitHub Actions and Jenkins have no such variables: pass --shard from the matrix.
// An unreadable value is an input error naming the variable.
Expected<std::optional<Shard>> shardFromEnvironment(const std::map<std::string, std::string>& env);

// The cells of shard `shard`. A scenario x release stays whole (all its repeats
// in one shard, so agreement between repeats is judged in one place). Groups
// are dealt longest time limit first, each to the shard with the least time
// limit so far (ties: the lower shard; equal time limits in matrix order), so
// shards take about equally long and the split depends only on the matrix.
// Cells keep matrix order within a shard.
std::vector<SuiteCell> selectShard(const std::vector<SuiteCell>& cells,
                                   const std::map<std::string, double>& time_limit_by_scenario, Shard shard);

}  // namespace oom
