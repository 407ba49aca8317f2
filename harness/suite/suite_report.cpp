#include "suite/suite_report.hpp"

#include <algorithm>
#include <cstdio>

#include "oom/text.hpp"
#include "oom/units.hpp"
#include "report/xml_text.hpp"

namespace oom {
namespace {

std::string outcomeText(CheckOutcome outcome) { return nlohmann::json(outcome).get<std::string>(); }

// "pass in runs 1, 3; fail in run 2"
std::string outcomesByRun(const std::vector<std::string>& outcomes) {
  std::vector<std::pair<std::string, std::vector<std::size_t>>> by;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const std::string o = outcomes[i].empty() ? "missing" : outcomes[i];
    auto it = std::find_if(by.begin(), by.end(), [&](const auto& p) { return p.first == o; });
    if (it == by.end()) by.push_back({o, {i + 1}});
    else it->second.push_back(i + 1);
  }
  std::string text;
  for (const auto& [outcome, runs] : by) {
    if (!text.empty()) text += "; ";
    text += outcome + (runs.size() == 1 ? " in run " : " in runs ");
    for (std::size_t i = 0; i < runs.size(); ++i) text += (i ? ", " : "") + std::to_string(runs[i]);
  }
  return text;
}

}  // namespace

SuiteGroup agreeAcrossRepeats(const std::string& scenario, const std::string& release,
                              const std::vector<FinishedRun>& runs) {
  SuiteGroup group;
  group.scenario = scenario;
  group.release = release;
  group.runs = static_cast<int>(runs.size());
  if (runs.empty()) return group;
  // Checks in order of first appearance, each with its outcome in every run.
  for (std::size_t r = 0; r < runs.size(); ++r)
    for (const auto& check : runs[r].checks) {
      auto it = std::find_if(group.checks.begin(), group.checks.end(), [&](const CheckAgreement& a) {
        return a.name == check.name && a.unit == check.unit;
      });
      if (it == group.checks.end()) {
        group.checks.push_back({check.name, check.unit, std::vector<std::string>(runs.size()), ""});
        it = group.checks.end() - 1;
      }
      it->outcomes[r] = outcomeText(check.outcome);
    }
  bool flaky = false;
  for (auto& a : group.checks) {
    // A note gates nothing (an observer gap makes `observation` one), so a note in one
    // run and a pass in another agree: the other outcomes must, a missing one included.
    const bool note = std::all_of(a.outcomes.begin(), a.outcomes.end(),
                                  [](const std::string& o) { return o.empty() || o == "note"; });
    const auto judged = std::find_if(a.outcomes.begin(), a.outcomes.end(),
                                     [](const std::string& o) { return o != "note"; });
    const bool agree = std::all_of(a.outcomes.begin(), a.outcomes.end(),
                                   [&](const std::string& o) { return o == "note" || o == *judged; });
    a.status = note ? "note" : agree ? *judged : "flaky";
    flaky = flaky || a.status == "flaky";
  }
  const bool verdicts_agree = std::all_of(runs.begin(), runs.end(),
                                          [&](const FinishedRun& r) { return r.verdict == runs.front().verdict; });
  group.verdict = flaky || !verdicts_agree ? "flaky" : runs.front().verdict;
  return group;
}

std::vector<SuiteGroup> suiteGroups(const SuiteIndex& index, const std::map<std::string, FinishedRun>& runs) {
  std::vector<SuiteGroup> groups;
  for (const auto& cell : index.cells) {
    const bool known = std::any_of(groups.begin(), groups.end(), [&](const SuiteGroup& g) {
      return g.scenario == cell.scenario && g.release == cell.release;
    });
    if (known) continue;
    std::vector<FinishedRun> finished;
    for (const auto& c : index.cells)
      if (c.scenario == cell.scenario && c.release == cell.release)
        if (const auto it = runs.find(c.folder); it != runs.end()) finished.push_back(it->second);
    groups.push_back(agreeAcrossRepeats(cell.scenario, cell.release, finished));
    auto& group = groups.back();
    for (const auto& c : index.cells)
      if (c.scenario == cell.scenario && c.release == cell.release && c.status == CellStatus::done &&
          !runs.count(c.folder) && group.verdict != "fail" && group.verdict != "flaky")
        group.verdict = "inconclusive";
  }
  return groups;
}

SuiteOutcome suiteOutcome(const SuiteIndex& index, bool interrupted) {
  std::size_t failed = 0, flaky = 0, inconclusive = 0, unfinished = 0;
  for (const auto& g : index.groups) {
    failed += g.verdict == "fail";
    flaky += g.verdict == "flaky";
    inconclusive += g.verdict == "inconclusive";
  }
  for (const auto& c : index.cells) unfinished += c.status != CellStatus::done;
  const std::size_t groups = index.groups.size();
  auto of = [&](std::size_t n, const char* what) {
    return std::to_string(n) + " of " + std::to_string(groups) + " scenario x release " + what;
  };
  if (interrupted)
    return {"inconclusive", 130,
            "interrupted: " + std::to_string(unfinished) + " of " + std::to_string(index.cells.size()) +
                " cells did not finish (index.json says which)"};
  if (failed || flaky) {
    std::string reason = failed ? of(failed, "failed") : "";
    if (flaky) reason += std::string(failed ? "; " : "") + of(flaky, "flaky (repeats disagreed)");
    return {"fail", 1, reason};
  }
  if (inconclusive || unfinished) {
    std::string reason = inconclusive ? of(inconclusive, "inconclusive") : "";
    if (unfinished)
      reason += std::string(inconclusive ? "; " : "") + std::to_string(unfinished) + " cell(s) did not finish";
    return {"inconclusive", 3, reason};
  }
  if (index.cells.empty()) return {"pass", 0, "no cells to run (this shard of the matrix is empty)"};
  return {"pass", 0, "every cell passed (" + std::to_string(index.cells.size()) + " runs)"};
}

std::string suiteJunitXml(const SuiteIndex& index, const std::map<std::string, FinishedRun>& runs) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"oomharness suite\">\n";
  for (const auto& g : index.groups) {
    std::vector<const SuiteCell*> cells;
    for (const auto& c : index.cells)
      if (c.scenario == g.scenario && c.release == g.release) cells.push_back(&c);
    // The finished runs' checks, in repeat order, to quote the first failing one.
    std::vector<const FinishedRun*> finished;
    double seconds = 0;
    std::string unfinished;
    for (const auto* c : cells) {
      seconds += c->duration_sec;
      const auto it = runs.find(c->folder);
      if (it != runs.end()) finished.push_back(&it->second);
      else
        unfinished += (unfinished.empty() ? "" : "; ") + c->folder + ": " +
                      (c->status == CellStatus::done ? "ended without a result (" + c->reason + ")"
                                                     : std::string("never ran (") +
                                                           nlohmann::json(c->status).get<std::string>() + ")");
    }
    std::size_t failures = 0, errors = 0;
    for (const auto& a : g.checks) {
      failures += a.status == "fail" || a.status == "flaky";
      errors += a.status == "inconclusive";
    }
    errors += !unfinished.empty();
    const std::string name = xmlText(g.scenario + "@" + g.release);
    char numbers[256];
    std::snprintf(numbers, sizeof numbers, "tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.3f\"",
                  g.checks.size() + (unfinished.empty() ? 0 : 1), failures, errors, seconds);
    xml += "  <testsuite name=\"" + name + "\" " + numbers + ">\n    <properties>\n";
    xml += "      <property name=\"verdict\" value=\"" + xmlText(g.verdict) + "\"/>\n";
    xml += "      <property name=\"runs\" value=\"" + std::to_string(g.runs) + "\"/>\n";
    for (const auto* c : cells)
      xml += "      <property name=\"folder\" value=\"" + xmlText(c->folder) + "\"/>\n";
    xml += "    </properties>\n";
    for (const auto& a : g.checks) {
      const std::string classname = name + "." + xmlText(a.unit.empty() ? "scenario" : a.unit);
      xml += "    <testcase classname=\"" + classname + "\" name=\"" + xmlText(a.name) + "\">\n";
      // The first run whose outcome is the one reported (for flaky: the first failure).
      const std::string wanted = a.status == "flaky" ? "fail" : a.status;
      const CheckResult* quoted = nullptr;
      for (const auto* run : finished) {
        for (const auto& c : run->checks)
          if (c.name == a.name && c.unit == a.unit && (outcomeText(c.outcome) == wanted || !quoted)) quoted = &c;
        if (quoted && outcomeText(quoted->outcome) == wanted) break;
      }
      const std::string body = quoted ? xmlLines(checkEvidenceText(*quoted)) : "";
      const std::string agreement = a.outcomes.size() > 1 ? "runs: " + outcomesByRun(a.outcomes) : "";
      if (a.status == "flaky")
        xml += "      <failure message=\"flaky: " + xmlText(outcomesByRun(a.outcomes)) + "\" type=\"flaky\">" +
               body + "</failure>\n";
      else if (a.status == "fail")
        xml += "      <failure message=\"" + xmlText(quoted ? quoted->observed : "") + "\" type=\"fail\">" + body +
               "</failure>\n";
      else if (a.status == "inconclusive")
        xml += "      <error message=\"" + xmlText(quoted ? quoted->observed : "") + "\" type=\"inconclusive\">" +
               body + "</error>\n";
      else
        xml += "      <system-out>" + body + xmlText(agreement) + (agreement.empty() ? "" : "\n") + "</system-out>\n";
      xml += "    </testcase>\n";
    }
    if (!unfinished.empty())
      xml += "    <testcase classname=\"" + name + ".scenario\" name=\"run\">\n      <error message=\"" +
             xmlText(unfinished) + "\" type=\"not_finished\"/>\n    </testcase>\n";
    xml += "  </testsuite>\n";
  }
  xml += "</testsuites>\n";
  return xml;
}

std::string suiteSummary(const SuiteIndex& index) {
  std::string text;
  char line[512];
  for (const auto& g : index.groups) {
    std::vector<const SuiteCell*> cells;
    double seconds = 0;
    for (const auto& c : index.cells)
      if (c.scenario == g.scenario && c.release == g.release) {
        cells.push_back(&c);
        seconds += c.duration_sec;
      }
    std::string verdicts;
    for (const auto* c : cells)
      verdicts += (verdicts.empty() ? "" : ",") +
                  (c->status == CellStatus::done ? c->verdict : nlohmann::json(c->status).get<std::string>());
    std::snprintf(line, sizeof line, "  %-12s %-28s %-9s %s",
                  g.verdict.empty() ? "not run" : printable(g.verdict).c_str(), printable(g.scenario).c_str(),
                  printable(g.release).c_str(), formatTenths(seconds).c_str());
    text += line;
    if (cells.size() > 1) text += "  runs: " + verdicts;
    text += "  " + (cells.size() == 1 ? cells.front()->folder : cells.front()->folder + " ...") + "\n";
    for (const auto& a : g.checks)
      if (a.status == "flaky")
        text += "      flaky " + (a.unit.empty() || a.name.rfind(a.unit + ".", 0) == 0 ? a.name : a.unit + ": " + a.name) +
                ": " + outcomesByRun(a.outcomes) + "\n";
  }
  return printableLines(text);  // folders and check names come from index.json
}

}  // namespace oom
