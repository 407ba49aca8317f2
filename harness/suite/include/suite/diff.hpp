#pragma once
// `oomharness diff OLD NEW`: what changed between two suite folders (index.json)
// or two run folders (result.json) — "what changed since last night". Cells are
// matched by (scenario, release); with repeats each side's finished repeats are
// compared as a group. Every change cites what it compared on each side (the
// kill's time and pid, the check's observed line, ...), so a reader can check it
// in the run folders. Regressions make the command exit 1 (SUITE-DIFF.md).
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/verdict.hpp"
#include "oom/expected.hpp"
#include "oom/units.hpp"
#include "report/report.hpp"

namespace oom {

constexpr const char* kDiffFormat = "oomharness-diff/1";

// How far a time figure (first kill, stall) may move before it is a change:
// "10s" (absolute, the default) or "25%" (of OLD's figure: a figure that was 0
// then moves on any increase).
struct DiffTolerance {
  bool relative = false;
  double seconds = 10;   // absolute
  double percent = 0;    // relative, of OLD's figure
  std::string text = "10s";

  double allowedFor(double old_value) const { return relative ? old_value * percent / 100 : seconds; }
};
// "10s", "500ms", "2min", a plain number of seconds, or "25%"; never negative.
Expected<DiffTolerance> parseTolerance(std::string_view text);

// One kernel OOM kill as diff cites it.
struct DiffKill {
  double t = 0;
  int pid = 0;
  std::string unit;   // the unit, else the cgroup (task_memcg), else "unattributed"
  std::string comm;
  std::string line;   // the kernel's "Killed process" line
};

struct CheckFact {
  std::string name, unit;
  CheckOutcome outcome = CheckOutcome::pass;
  std::string observed;
};

// What diff compares of one finished run, taken from its result.json (the rest
// of the report is not kept: a suite of many cells is read one run at a time).
struct RunFacts {
  std::string folder;         // the run folder, as reached from the folder given
  int repeat = 1;
  // false: a suite cell that ended without a readable result.json (its run died or
  // never started); the index's verdict (inconclusive) and reason are all there is.
  bool has_result = true;
  std::string scenario, release;
  VerdictKind verdict = VerdictKind::inconclusive;
  std::string reason;
  double pressure_t = 0;
  std::optional<DiffKill> first_kill;       // the first victim chosen at or after pressure_t
  std::map<std::string, DiffKill> killed;   // unit -> its first kill record (group members too)
  std::vector<CheckFact> checks;
  ObserverStats stats;
};
RunFacts runFacts(const RunReport& report, const std::string& folder, int repeat);


// A run, cited: which repeat, its folder, and what it showed.
struct DiffCite {
  int repeat = 1;
  std::string folder;
  std::string text;   // "kill t=53.213 pid 207 report-worker.service (oomstress)"
  std::string line;   // the kernel line, for kills; "" otherwise
};

// One scenario x release on one side.
struct DiffCell {
  std::string scenario, release;
  std::vector<RunFacts> runs;          // finished repeats, in repeat order
  std::vector<DiffCite> unfinished;    // repeats listed but not done: text is the status ("pending")
};

struct DiffSide {
  std::filesystem::path dir;
  bool suite = false;           // index.json; else a run folder (result.json)
  std::vector<DiffCell> cells;  // in the index's matrix order
};
// Errors (ErrorKind::input) name the file and what was expected: a missing folder,
// neither index.json nor result.json, JSON that is not one, a cell the index calls
// done with a verdict other than inconclusive and no readable result.json.
Expected<DiffSide> readDiffSide(const std::filesystem::path& dir);

struct DiffChange {
  std::string what;              // see SUITE-DIFF.md: "verdict", "check", "first_victim", ...
  bool regression = false;
  std::string scenario, release;
  std::string check, unit;       // for check changes: the check's name and unit
  std::string old_value, new_value;    // as printed ("pass", "flaky: 2 pass, 1 fail", "12.3s")
  std::optional<double> old_sec, new_sec, allowed_sec;  // time figures (medians over repeats)
  std::string why;               // why it is (or is not) a regression
  std::vector<DiffCite> old_cites, new_cites;
};

struct SuiteDiff {
  std::string old_dir, new_dir;
  bool suite = false;
  DiffTolerance tolerance;
  std::size_t cells_compared = 0;   // cells with finished runs on both sides
  std::vector<std::string> notes;   // e.g. two run folders of different releases
  std::vector<DiffChange> changes;

  std::size_t regressions() const;
};

SuiteDiff diffSides(const DiffSide& old_side, const DiffSide& new_side, const DiffTolerance& tolerance);
// Reads both folders, then diffSides(); an input error when either is bad or
// one is a suite folder and the other a run folder.
Expected<SuiteDiff> diffFolders(const std::filesystem::path& old_dir, const std::filesystem::path& new_dir,
                                const DiffTolerance& tolerance);

int diffExitStatus(const SuiteDiff& diff);           // 1 when anything regressed, else 0
std::string diffText(const SuiteDiff& diff);         // one line per change, then a summary line
nlohmann::ordered_json diffJson(const SuiteDiff& diff);  // format oomharness-diff/1

}  // namespace oom
