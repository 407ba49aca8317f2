// `oomharness report DIR` and `oomharness show DIR`: an existing run folder's
// result.json read back, its derived files (summary.txt, junit.xml, report.html)
// written again, or its summary printed. The verdict is the recorded one;
// `evaluate` is what judges a recorded timeline again.
#include <cstdio>
#include <filesystem>
#include <string>

#include "commands.hpp"
#include "oom/text.hpp"
#include "report/report.hpp"
#include "run/exit_status.hpp"
#include "suite/index.hpp"
#include "suite/suite_html.hpp"

namespace oom {
namespace {

namespace fs = std::filesystem;

// A suite folder: index.json and no result.json (suite/suite_html.hpp).
bool isSuiteFolder(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && !fs::exists(dir / kRunResultFile, ec) && fs::exists(dir / kSuiteIndexFile, ec);
}

int regenerate(const fs::path& dir) {
  if (isSuiteFolder(dir)) return rewriteSuiteReports(dir);
  auto report = readRunFolder(dir);
  if (!report) {
    std::fprintf(stderr, "oomharness: %s\n", printable(report.error().str()).c_str());
    return exitStatusFor(report.error());
  }
  const auto failures = writeDerivedReports(dir, *report);
  for (const auto& failure : failures)
    std::fprintf(stderr, "oomharness: report not written: %s\n", printable(failure).c_str());
  if (!failures.empty()) return kExitInconclusive;
  std::printf("%s: %s, verdict %s (as recorded); wrote report.html, summary.txt and junit.xml\n",
              printable(dir.string()).c_str(), printable(report->scenario.name).c_str(),
              toString(report->verdict.verdict));
  return kExitPass;
}

int show(const fs::path& dir) {
  if (isSuiteFolder(dir)) return showSuite(dir);
  auto report = readRunFolder(dir);
  if (!report) {
    std::fprintf(stderr, "oomharness: %s\n", printable(report.error().str()).c_str());
    return exitStatusFor(report.error());
  }
  std::printf("%s", summarize(*report).c_str());  // summarize() escapes guest text itself
  return kExitPass;
}

}  // namespace

void addReportCommands(CLI::App& app, int& status) {
  auto dir = std::make_shared<std::string>();
  auto* report = app.add_subcommand(
      "report", "Write report.html, summary.txt and junit.xml of a run folder again, from its result.json; "
                "for a suite folder, each cell's and the suite's index.html, junit.xml and summary.txt");
  report->add_option("dir", *dir, "Run folder (holds result.json) or suite folder (holds index.json)")->required();
  report->callback([dir, &status] { status = regenerate(*dir); });

  auto shown = std::make_shared<std::string>();
  auto* show_cmd = app.add_subcommand("show", "Print the summary of a run or suite folder");
  show_cmd->add_option("dir", *shown, "Run folder (holds result.json) or suite folder (holds index.json)")->required();
  show_cmd->callback([shown, &status] { status = show(*shown); });
}

}  // namespace oom
