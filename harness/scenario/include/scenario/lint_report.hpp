#pragma once
// What `oomharness lint` prints: compiler-style text, JSON (oomharness-lint/1) and
// SARIF 2.1.0 for code-scanning views. Formats: docs/lint-rules.md#output.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scenario/unit_lint.hpp"

namespace oom {

// "file:line: warning: message [rule-id]", then "file:line: note: ..." for each
// related location. Suppressed findings are left out. Text from files is escaped.
std::string lintText(const std::vector<LintFinding>& findings);

// {"format": "oomharness-lint/1", "inputs": [...], "findings": [...], "counts": {...}}
nlohmann::json lintJson(const std::vector<LintFinding>& findings,
                        const std::vector<std::string>& inputs);

// One run, every rule in tool.driver.rules, suppressed findings with an inSource suppression.
nlohmann::json lintSarif(const std::vector<LintFinding>& findings);

// A path as a SARIF artifactLocation.uri: relative paths stay relative (percent-encoded),
// absolute ones become file:// URIs.
std::string sarifUri(const std::string& path);

}  // namespace oom
