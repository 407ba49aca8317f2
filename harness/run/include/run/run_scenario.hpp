#pragma once
// The main job. Every stage hands the next a plain data type:
//   scenario file -> Scenario -> GuestPlan -> (guest) streamed Timeline -> Verdict -> reports
// Nothing boots unless the scenario is valid and its memory budget fits.
#include <filesystem>
#include <optional>
#include <string>

#include "oom/expected.hpp"

namespace oom {

struct RunOptions {
  std::filesystem::path scenario;
  std::filesystem::path results_root = "results";
  // The run's folder itself instead of a new one under results_root: an existing
  // folder that holds no run yet (a suite creates each cell's, with its log).
  std::filesystem::path run_dir;
  std::string accelerator = "auto";       // auto, kvm, tcg
  bool cold_boot = false;                 // boot the guest instead of restoring a saved one
  std::string release;                    // overrides the scenario's guest.release when set
  // --units DIR: the services' unit files and drop-ins from this tree (laid out as
  // /etc/systemd/system) instead of the scenario's unit_file and drop_ins.
  std::optional<std::filesystem::path> units_dir;
  std::optional<double> boot_allowance_sec;  // added to the scenario's time limit for the watchdog
  bool live_progress = true;              // one line per event on stdout as it happens
};

// Returns the exit status: 0 pass, 1 an expectation failed, 2 bad input, 3 inconclusive,
// 130 interrupted by SIGINT/SIGTERM (result.json still written, verdict inconclusive).
int runScenario(const RunOptions& options);

// The plan handed to the guest, written before it boots: a folder with it holds a
// run, finished (kRunResultFile) or not.
inline constexpr const char* kRunPlanFile = "plan.json";

// The file that shows `dir` holds a run (kRunPlanFile or kRunResultFile), or "" when
// it holds none. `run --run-dir` and `evaluate --out` never write over a run.
std::string runFileIn(const std::filesystem::path& dir);

// run_dir when it is a folder without a run in it (no plan.json or result.json):
// an input error otherwise, naming it.
Expected<std::filesystem::path> useRunDirectory(const std::filesystem::path& run_dir);

// Creates root/<utc>-<scenario>-<release>/ exclusively (mkdir, never an existing
// folder), or -2, -3 ... when a parallel run took the name in the same second.
// utc: yyyymmddThhmmssZ (oom/utc.hpp kCompactUtc).
Expected<std::filesystem::path> createResultsDirectory(const std::filesystem::path& root,
                                                       const std::string& scenario,
                                                       const std::string& release, const std::string& utc);

}  // namespace oom
