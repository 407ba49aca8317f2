// `oomharness lint PATH...`: unit files, drop-ins and scenarios checked without
// booting. Exit 0 nothing at or above --fail-on, 1 findings at or above it, 2 an
// input could not be read (each named on stderr; the others are still linted).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "oom/text.hpp"
#include "run/exit_status.hpp"
#include "scenario/lint_report.hpp"
#include "scenario/lint_inputs.hpp"
#include "systemd/unit_file.hpp"
#include "scenario/unit_lint.hpp"

namespace oom {
namespace {

struct LintOptions {
  std::vector<std::string> paths;
  std::string format = "text";
  std::string fail_on = "warning";
};

LintSeverity severityFromName(const std::string& name) {
  if (name == "error") return LintSeverity::error;
  if (name == "note") return LintSeverity::note;
  return LintSeverity::warning;
}

int lintCommand(const LintOptions& options) {
  const LintInputs inputs = collectLintInputs(options.paths);
  for (const auto& e : inputs.unreadable)
    std::fprintf(stderr, "oomharness lint: error: %s\n", printable(e.str()).c_str());
  std::vector<LintFinding> findings = lintUnits(inputs.units);
  for (const auto& scenario : inputs.scenarios) {
    auto more = lintScenarioAt(scenario);
    findings.insert(findings.end(), more.begin(), more.end());
  }
  std::stable_sort(findings.begin(), findings.end(),
                   [](const LintFinding& a, const LintFinding& b) {
                     return std::tie(a.at.file, a.at.line) < std::tie(b.at.file, b.at.line);
                   });

  if (options.format == "json" || options.format == "sarif") {
    std::vector<std::string> linted;
    for (const auto& u : inputs.units)
      for (const auto* f : u.files()) linted.push_back(f->path);
    for (const auto& s : inputs.scenarios) linted.push_back(s.string());
    const auto doc = options.format == "json" ? lintJson(findings, linted) : lintSarif(findings);
    std::printf("%s\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputs(lintText(findings).c_str(), stdout);
  }

  const LintSeverity threshold = severityFromName(options.fail_on);
  std::size_t counts[3] = {0, 0, 0};
  std::size_t suppressed = 0;
  bool failing = false;
  for (const auto& f : findings) {
    if (f.suppressed) {
      ++suppressed;
      continue;
    }
    ++counts[static_cast<int>(f.severity)];
    failing = failing || f.severity >= threshold;
  }
  if (options.format == "text" && (counts[0] + counts[1] + counts[2] + suppressed) > 0)
    std::fprintf(stderr, "%zu error(s), %zu warning(s), %zu note(s), %zu suppressed\n", counts[2],
                 counts[1], counts[0], suppressed);
  if (!inputs.unreadable.empty()) return kExitBadInput;
  return failing ? kExitFail : kExitPass;
}

}  // namespace

void addLintCommand(CLI::App& app, int& status) {
  auto options = std::make_shared<LintOptions>();
  auto* lint = app.add_subcommand(
      "lint",
      "Check unit files, drop-ins and scenarios for dangerous OOM settings, without booting (exit "
      "1 on findings at or above --fail-on, 2 on unreadable input)");
  lint->add_option("paths", options->paths,
                   "Unit files, NAME.d drop-in folders or their *.conf files, folders laid out as "
                   "/etc/systemd/system, scenario files (*.json)")
      ->required();
  lint->add_option("--format", options->format,
                   "text (file:line: severity: message [rule]), json or sarif")
      ->check(CLI::IsMember({"text", "json", "sarif"}))
      ->default_str("text");
  lint->add_option("--fail-on", options->fail_on,
                   "The least severity that makes the exit status 1: error, warning or note")
      ->check(CLI::IsMember({"error", "warning", "note"}))
      ->default_str("warning");
  lint->callback([&status, options] { status = lintCommand(*options); });
}

}  // namespace oom
