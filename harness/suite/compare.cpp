#include "suite/compare.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "checks/timeline_index.hpp"
#include "oom/files.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "oom/utc.hpp"
#include "run/exit_status.hpp"
#include "run/run_scenario.hpp"
#include "scenario/parse.hpp"
#include "suite/diff.hpp"

namespace oom {
namespace fs = std::filesystem;
namespace {

std::string percent1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v);
  return buf;
}

// Everything one side says, keyed by (section, what), in first-seen order.
struct SideFacts {
  std::vector<std::pair<std::string, std::string>> keys;
  std::map<std::pair<std::string, std::string>, std::string> values;
  void put(const std::string& section, const std::string& what, const std::string& value) {
    const auto key = std::make_pair(section, what);
    if (!values.count(key)) keys.push_back(key);
    values[key] = value;
  }
};

// The settings a unit ran with, each with where it came from: the merged unit
// files (file:line) or the scenario's inline `unit`.
void settingsOf(const PlannedUnit& u, SideFacts& f) {
  const std::string section = "unit " + u.unit;
  if (u.installed()) {
    for (const auto& o : u.files.effective)
      f.put(section, o.directive, o.value + "  (" + fs::path(o.where).filename().string() + ")");
    return;
  }
  for (const auto& p : u.properties)
    if (p.name != "Type") f.put(section, p.name, p.value + "  (scenario)");
}

SideFacts factsOf(const RunReport& r) {
  SideFacts f;
  const TimelineIndex index(r.timeline);
  const RunFacts run = runFacts(r, "", 1);
  const double p0 = r.verdict.pressure_t;
  f.put("run", "verdict", toString(r.verdict.verdict) + std::string(r.verdict.reason.empty() ? "" : ": ") +
                              r.verdict.reason);
  f.put("run", "first victim",
        run.first_kill ? run.first_kill->unit + " at " + formatSince(run.first_kill->t, p0) : "(none)");
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [unit, kill] : run.killed) order.emplace_back(kill.t, unit);
  std::sort(order.begin(), order.end());
  std::string killed;
  for (const auto& [t, unit] : order) killed += (killed.empty() ? "" : ", ") + unit;
  f.put("run", "killed, in order", killed.empty() ? "(nothing)" : killed);
  f.put("run", "stall: PSI full avg10 peak", percent1(run.stats.peak_psi_full));
  f.put("run", "stall: MemAvailable near zero", formatTenths(run.stats.near_zero_sec));
  for (const auto& u : r.plan.units) {
    settingsOf(u, f);
    const std::string section = "unit " + u.unit;
    std::size_t kills = 0;
    for (const auto& k : r.timeline.kills)
      if (k.unit == u.unit) ++kills;
    f.put(section, "OOM kills", std::to_string(kills));
    if (const UnitStateChange* last = index.lastState(u.unit)) {
      f.put(section, "restarts (NRestarts)", std::to_string(last->NRestarts));
      f.put(section, "at the end", last->ActiveState + "/" + last->SubState +
                                       (last->Result.empty() ? "" : " Result=" + last->Result));
    }
  }
  for (const auto& c : r.verdict.checks)
    f.put("checks", c.name, std::string(toString(c.outcome)) + ": " + c.observed);
  return f;
}

}  // namespace

Comparison compareRuns(const RunReport& current, const RunReport& proposed) {
  Comparison c;
  c.scenario = current.scenario.name;
  const SideFacts a = factsOf(current), b = factsOf(proposed);
  // Current's order first, then what only the proposed side has, grouped by section.
  std::vector<std::pair<std::string, std::string>> keys = a.keys;
  for (const auto& k : b.keys)
    if (!a.values.count(k)) keys.push_back(k);
  std::vector<std::string> sections;
  for (const auto& k : keys)
    if (std::find(sections.begin(), sections.end(), k.first) == sections.end()) sections.push_back(k.first);
  for (const auto& section : sections)
    for (const auto& k : keys) {
      if (k.first != section) continue;
      auto value = [&](const SideFacts& s) {
        const auto it = s.values.find(k);
        return it == s.values.end() ? std::string("(not set)") : it->second;
      };
      c.rows.push_back(ComparedRow{k.first, k.second, value(a), value(b)});
    }
  return c;
}

std::string comparisonText(const Comparison& c) {
  std::size_t what_width = 0, left_width = std::string("current").size();
  for (const auto& r : c.rows) {
    what_width = std::max(what_width, r.what.size());
    left_width = std::max(left_width, std::min<std::size_t>(r.current.size(), 60));
  }
  auto cell = [](std::string s, std::size_t width) {
    s = printable(s);
    if (s.size() > width) s = s.substr(0, width - 3) + "...";
    return s + std::string(width - s.size(), ' ');
  };
  std::string out = "scenario " + printable(c.scenario) + ": " + c.current_label + " (" +
                    printable(c.current_folder) + ") against " + c.proposed_label + " (" +
                    printable(c.proposed_folder) + ")\n";
  std::string section;
  std::size_t changed = 0;
  for (const auto& r : c.rows) {
    if (r.section != section) {
      section = r.section;
      out += "\n" + printable(section) + ":\n    " + cell("", what_width) + "  " + cell(c.current_label, left_width) +
             "  " + c.proposed_label + "\n";
    }
    changed += r.differs() ? 1 : 0;
    // Check lines are long: only their outcome word goes in the columns.
    out += std::string(r.differs() ? "  * " : "    ") + cell(r.what, what_width) + "  " +
           cell(r.current, left_width) + "  " + printable(r.proposed) + "\n";
  }
  out += "\n" + std::to_string(changed) + " of " + std::to_string(c.rows.size()) +
         " line(s) differ (marked *)\n";
  return out;
}

nlohmann::ordered_json comparisonJson(const Comparison& c) {
  nlohmann::ordered_json j;
  j["format"] = kCompareFormat;
  j["scenario"] = c.scenario;
  j["current"] = {{"label", c.current_label}, {"folder", c.current_folder}};
  j["proposed"] = {{"label", c.proposed_label}, {"folder", c.proposed_folder}};
  j["rows"] = nlohmann::ordered_json::array();
  for (const auto& r : c.rows)
    j["rows"].push_back({{"section", r.section},
                         {"what", r.what},
                         {"current", r.current},
                         {"proposed", r.proposed},
                         {"differs", r.differs()}});
  return j;
}

int runComparison(const CompareOptions& options) {
  // Both sides must be valid before anything boots.
  bool bad = false;
  for (const auto* dir : {&options.current_units, &options.proposed_units}) {
    const ScenarioCheck check = loadScenarioFile(options.scenario, *dir);
    for (const auto& e : check.errors) std::fprintf(stderr, "error: %s\n", printable(e.str()).c_str());
    bad = bad || !check.ok();
  }
  if (bad) {
    std::fprintf(stderr, "oomharness: compare: nothing was started\n");
    return kExitBadInput;
  }
  const ScenarioCheck check = loadScenarioFile(options.scenario, options.current_units);
  const std::string release = options.release.empty() ? check.scenario->guest.release : options.release;
  auto made = createUniqueDirectory(options.results_root,
                                    utcNow(kCompactUtc) + "-" + check.scenario->name + "-" + release + "-compare",
                                    "the comparison's folder");
  if (!made) {
    std::fprintf(stderr, "oomharness: compare: %s\n", printable(made.error().str()).c_str());
    return kExitBadInput;
  }
  const fs::path folder = *made;
  std::printf("oomharness: compare %s: current %s, proposed %s; results in %s\n", printable(options.scenario.string()).c_str(),
              printable(options.current_units.string()).c_str(), printable(options.proposed_units.string()).c_str(),
              printable(folder.string()).c_str());
  std::fflush(stdout);
  int proposed_status = kExitInconclusive;
  for (const auto& [label, units] : {std::pair<std::string, fs::path>{"current", options.current_units},
                                     std::pair<std::string, fs::path>{"proposed", options.proposed_units}}) {
    RunOptions run;
    run.scenario = options.scenario;
    run.run_dir = folder / label;
    run.units_dir = units;
    run.release = options.release;
    run.accelerator = options.accelerator;
    run.live_progress = !options.quiet;
    (void)createOutputFolder(run.run_dir);  // runScenario reports a folder it cannot write
    std::printf("\n== %s: --units %s\n", label.c_str(), printable(units.string()).c_str());
    std::fflush(stdout);
    const int status = runScenario(run);
    if (status == kExitInterrupted || status == kExitBadInput) return status;
    if (label == "proposed") proposed_status = status;
  }
  auto current = readRunFolder(folder / "current");
  auto proposed = readRunFolder(folder / "proposed");
  if (!current || !proposed) {
    std::fprintf(stderr, "oomharness: compare: %s\n",
                 printable((!current ? current.error() : proposed.error()).str()).c_str());
    return kExitInconclusive;
  }
  Comparison c = compareRuns(*current, *proposed);
  c.current_folder = (folder / "current").string();
  c.proposed_folder = (folder / "proposed").string();
  const std::string text = printableLines(comparisonText(c));
  for (const auto& [file, content] :
       {std::pair<const char*, std::string>{"comparison.txt", text}, {"comparison.json", comparisonJson(c).dump(2) + "\n"}})
    if (auto written = writeFileAtomically(folder / file, content); !written)
      std::fprintf(stderr, "oomharness: compare: %s\n", printable(written.error().str()).c_str());
  std::printf("\n%s", text.c_str());
  std::printf("comparison in %s/comparison.txt; exit status is the proposed run's (%d)\n",
              printable(folder.string()).c_str(), proposed_status);
  return proposed_status;
}

}  // namespace oom
