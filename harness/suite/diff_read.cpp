// diff's inputs: a suite folder (index.json, each done cell's result.json) or a
// run folder (result.json), boiled down to the facts diff compares.
#include <algorithm>
#include <system_error>

#include "checks/timeline_index.hpp"
#include "oom/files.hpp"
#include "oom/text.hpp"
#include "oom/releases.hpp"
#include "suite/diff.hpp"
#include "suite/index.hpp"

namespace oom {
namespace fs = std::filesystem;

namespace {

constexpr const char* kEitherFolder = "a suite folder (with index.json) or a run folder (with result.json)";

DiffKill diffKill(const KernelOomKill& k) {
  DiffKill d{k.t, k.pid, k.unit, k.comm, ""};
  if (d.unit.empty()) d.unit = k.task_memcg.empty() ? "unattributed" : k.task_memcg;
  for (const auto& line : k.lines)
    if (line.find("Killed process") != std::string::npos) d.line = line;
  if (d.line.empty() && !k.lines.empty()) d.line = k.lines.back();
  return d;
}

// The release the guest ran: its os-release codename ("Debian GNU/Linux 13
// (trixie)"), which `run --release` may have changed from the scenario's.
std::string releaseOf(const RunReport& report) {
  const std::string release = releaseOfOsRelease(report.timeline.guest.os_release);
  return release.empty() ? report.scenario.guest.release : release;
}

Expected<RunFacts> readRun(const fs::path& folder, int repeat) {
  const fs::path file = folder / kRunResultFile;
  const auto json = readResultJson(file, "run's result.json");
  if (!json) return tl::unexpected(json.error());
  auto report = fromResultJson(*json, file.string());
  if (!report) return tl::unexpected(report.error());
  return runFacts(*report, folder.string(), repeat);
}

Expected<DiffSide> readSuiteSide(const fs::path& dir) {
  auto index = readSuiteIndex(dir);
  if (!index) return tl::unexpected(index.error());
  DiffSide side{dir, true, {}};
  for (const SuiteCell& c : index->cells) {
    auto cell = std::find_if(side.cells.begin(), side.cells.end(),
                             [&](const DiffCell& d) { return d.scenario == c.scenario && d.release == c.release; });
    if (cell == side.cells.end()) {
      side.cells.push_back(DiffCell{c.scenario, c.release, {}, {}});
      cell = side.cells.end() - 1;
    }
    if (c.status != CellStatus::done) {
      cell->unfinished.push_back(
          DiffCite{c.repeat, (dir / c.folder).string(), nlohmann::json(c.status).get<std::string>(), ""});
      continue;
    }
    auto run = readRun(dir / c.folder, c.repeat);
    if (!run && c.verdict == "inconclusive") {
      // The runner's own record of a run that died or never started: it says why.
      RunFacts facts;
      facts.folder = (dir / c.folder).string();
      facts.repeat = c.repeat;
      facts.has_result = false;
      facts.reason = c.reason;
      run = std::move(facts);
    }
    if (!run) {
      Error e = run.error();
      e.message += " (" + (dir / kSuiteIndexFile).string() + " lists this cell as done, verdict " +
                   nlohmann::json(c.verdict).dump() + ")";
      return tl::unexpected(e);
    }
    // The index names the cell; a run folder knows only its own guest.
    run->scenario = c.scenario;
    run->release = c.release;
    cell->runs.push_back(std::move(*run));
  }
  for (auto& cell : side.cells)
    std::stable_sort(cell.runs.begin(), cell.runs.end(),
                     [](const RunFacts& a, const RunFacts& b) { return a.repeat < b.repeat; });
  return side;
}

}  // namespace

Expected<DiffTolerance> parseTolerance(std::string_view text) {
  const std::string_view t = trim(text);
  const std::string expected = "'" + std::string(text) + "': expected a tolerance such as 10s, 500ms or 25%";
  DiffTolerance tol;
  tol.text = std::string(t);
  if (!t.empty() && t.back() == '%') {
    const auto percent = parseNumber<double>(trim(t.substr(0, t.size() - 1)));
    if (!percent || !(*percent >= 0 && *percent < 1e6)) return fail("--tolerance", expected);
    tol.relative = true;
    tol.percent = *percent;
    tol.seconds = 0;
    return tol;
  }
  auto d = parseDuration(t);
  if (!d || d->count() < 0 || !(d->count() < 1e9)) return fail("--tolerance", expected);
  tol.seconds = d->count();
  return tol;
}

RunFacts runFacts(const RunReport& report, const std::string& folder, int repeat) {
  RunFacts f;
  f.folder = folder;
  f.repeat = repeat;
  f.scenario = report.scenario.name;
  f.release = releaseOf(report);
  f.verdict = report.verdict.verdict;
  f.reason = report.verdict.reason;
  f.pressure_t = report.verdict.pressure_t;
  const TimelineIndex index(report.timeline);
  for (const OomEvent& e : index.events())
    if (e.t >= f.pressure_t) {
      f.first_kill = diffKill(*e.victim);
      break;
    }
  std::vector<const KernelOomKill*> kills;
  for (const auto& k : report.timeline.kills) kills.push_back(&k);
  std::stable_sort(kills.begin(), kills.end(), [](auto* a, auto* b) { return a->t < b->t; });
  for (const KernelOomKill* k : kills) {
    DiffKill d = diffKill(*k);
    f.killed.try_emplace(d.unit, d);
  }
  for (const auto& c : report.verdict.checks) f.checks.push_back(CheckFact{c.name, c.unit, c.outcome, c.observed});
  f.stats = observerStats(report.timeline);
  return f;
}

Expected<DiffSide> readDiffSide(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status))
    return fail(dir.string(), std::string("no such folder; expected ") + kEitherFolder);
  if (!fs::is_directory(status))
    return fail(dir.string(), std::string("not a folder; expected ") + kEitherFolder);
  if (fs::exists(dir / kSuiteIndexFile, ec)) return readSuiteSide(dir);
  if (fs::exists(dir / kRunResultFile, ec)) {
    auto run = readRun(dir, 1);
    if (!run) return tl::unexpected(run.error());
    DiffSide side{dir, false, {}};
    side.cells.push_back(DiffCell{run->scenario, run->release, {}, {}});
    side.cells.back().runs.push_back(std::move(*run));
    return side;
  }
  return fail(dir.string(), std::string("neither index.json nor result.json here; expected ") + kEitherFolder);
}

}  // namespace oom
