#pragma once
// `oomharness run` on a suite: several scenario files or folders, each on each
// release asked for, each K times, up to -j guests at once, this shard's part.
//
//   inputs -> files (matrix.hpp) -> validated scenarios (all, before anything boots)
//   -> cells (scenario x release x repeat) -> this shard's cells
//   -> one `oomharness run --run-dir` child per cell, admitted as the host allows
//      (admission.hpp), its output in the cell's oomharness.log
//   -> as each ends: its result.json read, index.json, junit.xml, summary.txt rewritten
//
// The suite folder (SUITE-FORMAT.md): results/<utc>-suite/ with index.json,
// junit.xml, summary.txt and one run folder per cell, each complete on disk as
// soon as its run ends. Each cell is a process of its own: a guest that takes its
// run down takes nothing else with it, and SIGINT/SIGTERM reaches each run's own
// clean stop (result.json still written, exit 130).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace oom {

struct SuiteOptions {
  std::vector<std::string> inputs;           // scenario files and folders
  std::filesystem::path results_root = "results";
  std::string releases;                      // "", "all", or "bookworm,trixie"
  std::string accelerator = "auto";
  bool cold_boot = false;                // every cell boots its guest cold (run --cold-boot)
  int repeat = 1;
  std::optional<int> jobs;                   // -j; default from the host (defaultJobs)
  std::string shard;                         // --shard I/N; "" = the environment's, else all
  bool oversubscribe = false;                // allow more vCPUs than host CPUs
  bool quiet = false;                        // only the final summary
  bool list = false;                         // print this shard's cells and exit; nothing boots
  std::filesystem::path self;                // the oomharness binary each cell runs
  std::optional<std::filesystem::path> units_dir;  // --units DIR, for every cell
};

// True when the options ask for more than one run: several inputs, a folder,
// several releases, --repeat above 1, or --shard. (One file on one release is
// the main job, runScenario, with its own results folder.)
bool isSuite(const SuiteOptions& options);

// With options.list: the cells this shard would run, one per line (scenario,
// release, repeat, folder, file), exit 0 (2 for bad input); nothing is created.
// Otherwise exit status: 0 every cell passed; 1 a cell failed or a check was flaky; 3 a
// cell was inconclusive or did not finish, none failed; 2 bad input (nothing
// started); 130 interrupted (every run stopped cleanly, index.json says which
// cells never ran).
int runSuite(const SuiteOptions& options);

}  // namespace oom
