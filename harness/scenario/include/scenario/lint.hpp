#pragma once
// Static warnings for the common bad configurations (docs/oom-policy.md#common-bad-configurations) that can be seen
// in a scenario file without running it. Warnings, not errors: a scenario may
// exist precisely to show what a bad configuration does.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "oom/expected.hpp"
#include "scenario/scenario.hpp"

namespace oom {

// One warning: where = "file: $.services[i].unit.Directive", message = the risk, and
// as fields of their own, the lint rule it is and the service directive it is about
// (so `lint` and a unit file's file:line need not be read back out of the text).
struct ScenarioWarning : Error {
  std::string rule;                    // lint rule id (docs/lint-rules.md), e.g. "oom-policy-continue"
  std::optional<std::size_t> service;  // index in Scenario::services, for a service's directive
  std::string directive;               // "OOMPolicy"; "" when about no one directive
};
std::vector<ScenarioWarning> lintScenario(const Scenario& scenario);

// A load that asks the unit to hold more than its own MemoryHigh= before it is ready
// (its baseline), or at once (baseline and spike): the sentence that says so
// ("baseline 10MiB is above its own MemoryHigh=3M"). A Type=notify unit whose baseline
// is over its MemoryHigh reaches READY=1 only by reclaiming (into swap) while it starts,
// and is often killed first (FIELD-NOTES, systemd's TEST-55-OOMD). Leaking past it is
// the usual intent, and not this; a baseline over MemoryMax= is an error of the parser.
struct LoadOverLimit {
  std::string directive;  // "MemoryHigh"
  std::string text;
};
std::optional<LoadOverLimit> loadAboveOwnLimit(const ServiceSpec& svc);

}  // namespace oom
