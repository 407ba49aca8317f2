#include "suite/suite_html.hpp"

#include <cstdio>
#include <map>

#include "oom/files.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "report/html_report.hpp"
#include "report/report.hpp"
#include "run/exit_status.hpp"
#include "suite/suite_report.hpp"

namespace fs = std::filesystem;

namespace oom {
namespace {

constexpr const char* kStyle =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;"
    "vertical-align:top}.v{color:#fff;padding:1px 6px;border-radius:3px}"
    ".pass{background:#2e7d32}.fail{background:#c62828}.flaky{background:#6a1b9a}"
    ".inconclusive{background:#a85d00}.none{background:#757575}small{color:#555}";

std::string badge(const std::string& verdict) {
  const std::string cls = verdict == "pass" || verdict == "fail" || verdict == "flaky" || verdict == "inconclusive"
                              ? verdict
                              : "none";
  return "<span class=\"v " + cls + "\">" + htmlText(verdict.empty() ? "not run" : verdict) + "</span>";
}

}  // namespace

std::string suiteIndexHtml(const SuiteIndex& index) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      "<title>oomharness suite: " +
      htmlText(index.verdict.empty() ? "running" : index.verdict) + "</title>\n<style>" + kStyle +
      "</style>\n</head>\n<body>\n";
  std::size_t done = 0;
  for (const auto& c : index.cells) done += c.status == CellStatus::done;
  h += "<h1>oomharness suite " + badge(index.verdict.empty() ? "running" : index.verdict) + "</h1>\n<p>" +
       std::to_string(done) + " of " + std::to_string(index.cells.size()) + " cell(s) done; started " +
       htmlText(index.started_at) + (index.finished_at.empty() ? "" : ", finished " + htmlText(index.finished_at)) +
       (index.exit_status >= 0 ? "; exit " + std::to_string(index.exit_status) : "") + "; shard " +
       std::to_string(index.shard_index) + "/" + std::to_string(index.shard_total) + ", " +
       std::to_string(index.repeat) + " repeat(s), up to " + std::to_string(index.jobs) + " guest(s) at once</p>\n";
  h += "<table>\n<tr><th>scenario</th><th>release</th><th>verdict</th><th>runs</th><th>flaky checks</th></tr>\n";
  for (const auto& g : index.groups) {
    h += "<tr><td>" + htmlText(g.scenario) + "</td><td>" + htmlText(g.release) + "</td><td>" + badge(g.verdict) +
         "</td><td>";
    for (const auto& c : index.cells) {
      if (c.scenario != g.scenario || c.release != g.release) continue;
      const std::string verdict = c.status == CellStatus::done ? c.verdict : nlohmann::json(c.status).get<std::string>();
      h += "<div>" + badge(verdict) + " <a href=\"" + htmlText(c.folder) + "/report.html\">" + htmlText(c.folder) +
           "</a> <small>" + (c.status == CellStatus::done ? htmlText(formatTenths(c.duration_sec)) : "") +
           (c.reason.empty() || c.verdict == "pass" ? "" : " — " + htmlText(c.reason)) + "</small></div>";
    }
    h += "</td><td>";
    for (const auto& a : g.checks) {
      if (a.status != "flaky") continue;
      std::string outcomes;
      for (std::size_t i = 0; i < a.outcomes.size(); ++i)
        outcomes += (i ? ", " : "") + std::string("run ") + std::to_string(i + 1) + " " +
                    (a.outcomes[i].empty() ? "missing" : a.outcomes[i]);
      h += "<div>" + htmlText(a.name) + (a.unit.empty() ? "" : " <small>" + htmlText(a.unit) + "</small>") +
           ": " + htmlText(outcomes) + "</div>";
    }
    h += "</td></tr>\n";
  }
  h += "</table>\n<p><small>index.json (format " + htmlText(index.format) +
       "), junit.xml and summary.txt are beside this page.</small></p>\n</body>\n</html>\n";
  return h;
}

namespace {

Expected<SuiteIndex> readSuiteOrSay(const fs::path& dir) {
  auto index = readSuiteIndex(dir);
  if (!index) std::fprintf(stderr, "oomharness: %s\n", printable(index.error().str()).c_str());
  return index;
}

// Each finished cell's verdict and checks from its result.json (a cell that left
// none is skipped: the index says why); with `rewrite`, its derived reports are
// written again too, failures added there. An unreadable result.json is an error.
Expected<std::map<std::string, FinishedRun>> finishedRuns(const fs::path& dir, const SuiteIndex& index,
                                                          std::vector<std::string>* rewrite) {
  std::map<std::string, FinishedRun> finished;
  for (const auto& cell : index.cells) {
    const fs::path run_dir = dir / cell.folder;
    std::error_code ec;
    if (cell.status != CellStatus::done || !fs::exists(run_dir / kRunResultFile, ec)) continue;
    auto report = readRunFolder(run_dir);
    if (!report) {
      std::fprintf(stderr, "oomharness: %s\n", printable(report.error().str()).c_str());
      return tl::unexpected(report.error());
    }
    if (rewrite)
      for (auto& f : writeDerivedReports(run_dir, *report)) rewrite->push_back(std::move(f));
    finished[cell.folder] = {cell.repeat, toString(report->verdict.verdict), report->verdict.checks};
  }
  return finished;
}

}  // namespace

int rewriteSuiteReports(const fs::path& dir) {
  auto index = readSuiteOrSay(dir);
  if (!index) return exitStatusFor(index.error());
  std::vector<std::string> failures;
  const auto runs = finishedRuns(dir, *index, &failures);
  if (!runs) return exitStatusFor(runs.error());
  const auto& finished = *runs;
  const std::size_t rewritten = finished.size();
  index->groups = suiteGroups(*index, finished);
  for (const auto& [file, text] :
       {std::pair<const char*, std::string>{"junit.xml", suiteJunitXml(*index, finished)},
        {"summary.txt", suiteSummary(*index)},
        {"index.html", suiteIndexHtml(*index)}})
    if (auto written = writeFileAtomically(dir / file, text); !written) failures.push_back(written.error().str());
  for (const auto& f : failures) std::fprintf(stderr, "oomharness: report not written: %s\n", printable(f).c_str());
  if (!failures.empty()) return kExitInconclusive;
  std::printf("%s: suite of %zu cell(s), verdict %s (as recorded); wrote index.html, junit.xml, summary.txt and "
              "the reports of %zu run(s)\n",
              printable(dir.string()).c_str(), index->cells.size(),
              index->verdict.empty() ? "(unfinished)" : index->verdict.c_str(), rewritten);
  return kExitPass;
}

int showSuite(const fs::path& dir) {
  auto index = readSuiteOrSay(dir);
  if (!index) return exitStatusFor(index.error());
  // The agreement between repeats from the cells' own results, as `report` computes it.
  const auto runs = finishedRuns(dir, *index, nullptr);
  if (!runs) return exitStatusFor(runs.error());
  index->groups = suiteGroups(*index, *runs);
  std::printf("%s", suiteSummary(*index).c_str());
  std::printf("suite: %s (exit %d, as recorded when it ran) in %s\n",
              index->verdict.empty() ? "unfinished" : index->verdict.c_str(), index->exit_status,
              printable(dir.string()).c_str());
  // The groups above are this build's reading of the cells: when that reading gives
  // another verdict than the recorded one, both are shown (the record is history).
  const SuiteOutcome now = suiteOutcome(*index, false);
  if (!index->verdict.empty() && now.verdict != index->verdict)
    std::printf("suite: %s (exit %d) when its cells are judged again by this build: %s\n", now.verdict.c_str(),
                now.exit_status, printable(now.reason).c_str());
  return kExitPass;
}

}  // namespace oom
