#pragma once
// Run folders and suite folders built from real recordings for the diff tests:
// a recording (or an edit of it) is evaluated against its shipped scenario and
// written with writeRunReports(), exactly as `run` and `evaluate --out` write it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "../checks/fixtures.hpp"
#include "plan/planner.hpp"
#include "report/report.hpp"
#include "run/exit_status.hpp"
#include "suite/index.hpp"

namespace oomtest {

namespace fs = std::filesystem;

// A temporary folder for one test, removed with everything in it at the end.
class Scratch {
 public:
  explicit Scratch(const std::string& name)
      : path_(fs::temp_directory_path() / ("oom-suite-diff-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline Scratch scratch(const std::string& name) { return Scratch(name); }

inline oom::RunReport runReport(const std::string& scenario_file, const oom::Timeline& timeline) {
  oom::RunReport r;
  r.scenario = scenario(scenario_file);
  if (auto plan = oom::makeGuestPlan(r.scenario)) r.plan = *plan;
  r.timeline = timeline;
  r.verdict = oom::evaluate(r.scenario, r.timeline);
  r.exit_status = oom::exitStatusFor(r.verdict.verdict);
  return r;
}

// dir written as a run folder: result.json, junit.xml, summary.txt.
inline fs::path writeRun(const fs::path& dir, const std::string& scenario_file, const oom::Timeline& timeline) {
  const auto failures = oom::writeRunReports(dir, runReport(scenario_file, timeline));
  EXPECT_TRUE(failures.empty()) << failures.front();
  return dir;
}

inline fs::path writeRun(const fs::path& dir, const std::string& scenario_file, const std::string& recording) {
  return writeRun(dir, scenario_file, timeline(recording));
}

// The recording with its first kill given to another unit (the kernel line,
// task_memcg and unit all say so).
inline Records victimChanged(Records recs, const std::string& from, const std::string& to) {
  for (auto& r : recs) {
    if (r["type"] != "oom_kill") continue;
    r["unit"] = to;
    r["task_memcg"] = "/system.slice/" + to;
    for (auto& line : r["lines"]) {
      auto text = line.get<std::string>();
      for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
      line = text;
    }
    break;
  }
  return recs;
}

// Every record from the first kill on happens `by` seconds later.
inline Records killDelayed(Records recs, double by) {
  double first = -1;
  for (const auto& r : recs)
    if (r["type"] == "oom_kill") {
      first = r["t"].get<double>();
      break;
    }
  for (auto& r : recs) {
    if (!r.contains("t") || r["t"].get<double>() < first) continue;
    r["t"] = r["t"].get<double>() + by;
    if (r.contains("seen_t") && r["seen_t"].get<double>() > 0) r["seen_t"] = r["seen_t"].get<double>() + by;
  }
  return recs;
}

struct SuiteRun {
  // The shipped scenario and the recording; done without a recording (nor an
  // edit): the run died without a result.json.
  std::string scenario_file, recording;
  std::string release;
  int repeat = 1;
  oom::CellStatus status = oom::CellStatus::done;
  Records edited = {};                   // used instead of the recording when not empty
};

// A suite folder: index.json and one run folder per done cell.
inline fs::path writeSuite(const fs::path& dir, const std::vector<SuiteRun>& runs) {
  fs::create_directories(dir);
  oom::SuiteIndex index;
  for (const auto& run : runs) {
    oom::SuiteCell cell;
    cell.scenario = fs::path(run.scenario_file).stem().string();
    cell.file = "scenarios/" + run.scenario_file;
    cell.release = run.release;
    cell.repeat = run.repeat;
    cell.folder = cell.scenario + "-" + run.release + "-" + std::to_string(run.repeat);
    cell.status = run.status;
    if (run.status == oom::CellStatus::done && run.recording.empty() && run.edited.empty()) {
      // What the suite runner records for a run that died before writing result.json.
      fs::create_directories(dir / cell.folder);
      cell.verdict = "inconclusive";
      cell.exit_status = 3;
      cell.reason = "the run ended (killed by signal Killed) without a result.json; see " +
                    (dir / cell.folder / "oomharness.log").string();
    } else if (run.status == oom::CellStatus::done) {
      const auto t = run.edited.empty() ? timeline(run.recording) : fold(run.edited);
      const auto report = runReport(run.scenario_file, t);
      EXPECT_TRUE(oom::writeRunReports(dir / cell.folder, report).empty());
      cell.verdict = oom::toString(report.verdict.verdict);
      cell.exit_status = report.exit_status;
    }
    index.cells.push_back(cell);
  }
  std::ofstream(dir / oom::kSuiteIndexFile) << nlohmann::json(index).dump(2);
  return dir;
}

}  // namespace oomtest
