#pragma once
// `oomharness compare SCENARIO --current DIR --proposed DIR`: one scenario run
// against two unit trees (what is deployed and the change under review), and one
// side-by-side comparison of the two runs: each side's verdict, who died first
// and in what order, each unit's effective OOM settings with the file and line
// they came from, kills, restarts and end state, the stall, every check. This is
// the review artifact of a policy change (docs/unit-files.md#comparing).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/report.hpp"

namespace oom {

constexpr const char* kCompareFormat = "oomharness-compare/1";

// One line of the comparison: what, then each side's value.
struct ComparedRow {
  std::string section;  // "run", "unit api.service", "checks"
  std::string what;     // "verdict", "OOMScoreAdjust", "first victim", ...
  std::string current, proposed;
  // A check's observed line names pids and times that differ between any two runs:
  // only its outcome counts as a difference.
  bool differs() const {
    if (section != "checks") return current != proposed;
    return current.substr(0, current.find(':')) != proposed.substr(0, proposed.find(':'));
  }
};

struct Comparison {
  std::string scenario;
  std::string current_label = "current", proposed_label = "proposed";
  std::string current_folder, proposed_folder;
  std::vector<ComparedRow> rows;
};

// The rows for two finished runs of the same scenario.
Comparison compareRuns(const RunReport& current, const RunReport& proposed);
std::string comparisonText(const Comparison& c);           // aligned columns, changed rows marked '*'
nlohmann::ordered_json comparisonJson(const Comparison& c);  // format oomharness-compare/1

struct CompareOptions {
  std::filesystem::path scenario;
  std::filesystem::path current_units, proposed_units;
  std::string release;                      // "" = the scenario's
  std::filesystem::path results_root = "results";
  std::string accelerator = "auto";
  bool quiet = false;
};

// Validates the scenario with both trees (exit 2 and nothing boots if either is bad),
// runs it with each tree into RESULTS/<utc>-<scenario>-compare/{current,proposed}/,
// writes comparison.txt and comparison.json there and prints the comparison.
// Exit status: the proposed run's (0 pass, 1 fail, 3 inconclusive); 2 bad input;
// 130 interrupted.
int runComparison(const CompareOptions& options);

}  // namespace oom
