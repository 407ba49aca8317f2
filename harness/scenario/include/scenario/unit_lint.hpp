#pragma once
// `oomharness lint`: the runbook's dangerous OOM configurations and the values
// systemd would refuse, found in unit files, drop-ins and scenarios without
// booting anything. Every rule, its id, severity and reason: docs/lint-rules.md.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "systemd/unit_file.hpp"

namespace oom {

enum class LintSeverity { note, warning, error };
std::string_view severityName(LintSeverity s);  // "note", "warning", "error" (also SARIF's levels)

struct LintRule {
  std::string_view id;  // stable: "oom-score-adjust-min"
  LintSeverity severity;
  std::string_view summary;  // one line
  std::string_view help;     // the reason (the runbook's) and what to do
};
// Every rule, in the order docs/lint-rules.md lists them.
const std::vector<LintRule>& lintRules();
const LintRule* findLintRule(std::string_view id);

struct LintLocation {
  std::string file;
  unsigned line = 0;
  std::string message;  // for related locations: "overridden value set here"
};

struct LintFinding {
  std::string rule;
  LintSeverity severity = LintSeverity::warning;
  LintLocation at;
  std::string message;
  std::vector<LintLocation> related;
  std::optional<std::string> suppressed;  // the reason given in the file, when silenced
};

// The findings for a set of units (one tree: "every service protected" looks at all
// of them), suppressions applied (kept, marked), sorted by file and line.
std::vector<LintFinding> lintUnits(const std::vector<UnitSources>& units);

// A scenario file: its errors as scenario-invalid, its warnings (lint.hpp) under the
// rule ids above; lines found from the JSON path.
std::vector<LintFinding> lintScenarioAt(const std::filesystem::path& file);

// The 1-based line where the value at `json_path` ("$.services[1].unit.OOMPolicy")
// starts in `text`; 1 when the path cannot be followed.
unsigned lineOfJsonPath(std::string_view text, std::string_view json_path);

}  // namespace oom
