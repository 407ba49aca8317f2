#pragma once
// The OOM-relevant directives `oomharness lint` checks in unit files: which unit
// types take each, and which values systemd accepts (as systemd 252-257's
// load-fragment.c parses them; docs/lint-rules.md#values-systemd-refuses-invalid-value).
#include <optional>
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

// What is wrong with `value` for `key`, or "" when systemd accepts it. A directive lint
// does not check is always "". An empty value resets OOMScoreAdjust= and the Memory*=
// settings; Restart=, OOMPolicy=, Type= and KillMode= refuse it.
std::string unitValueProblem(std::string_view key, std::string_view value);

// OOMScoreAdjust= as systemd reads it (safe_atoi: strtol base 0, so a sign, hex and octal
// count), within -1000..1000; nullopt otherwise.
std::optional<int> parseOomScoreAdjust(std::string_view value);

// "service" -> "Service": the section a unit type's own directives live in.
std::string unitSection(std::string_view type);

}  // namespace oom
