#pragma once
// The OOM-relevant directives `oomharness lint` checks in unit files: which unit
// types take each, and which values systemd accepts (as systemd 252-257's
// load-fragment.c parses them; docs/lint-rules.md#values-systemd-refuses-invalid-value).
#include <string>
#include <string_view>
#include <vector>

namespace oom {

struct UnitDirectiveInfo {
  std::string_view key;                 // "OOMScoreAdjust"
  std::vector<std::string_view> types;  // unit types whose own section takes it: "service", ...
};

// nullptr for a directive lint does not check (systemd validates those itself).
const UnitDirectiveInfo* oomUnitDirective(std::string_view key);

// What is wrong with `value` for `key`, or "" when systemd accepts it. An empty value
// (a reset) and a directive lint does not check are always "".
std::string unitValueProblem(std::string_view key, std::string_view value);

// "service" -> "Service": the section a unit type's own directives live in.
std::string unitSection(std::string_view type);

}  // namespace oom
