#pragma once
// Static warnings for the common bad configurations (docs/oom-policy.md#common-bad-configurations) that can be seen
// in a scenario file without running it. Warnings, not errors: a scenario may
// exist precisely to show what a bad configuration does.
#include <vector>

#include "oom/expected.hpp"
#include "scenario/scenario.hpp"

namespace oom {

// Each warning: where = "file: $.services[i].unit.Directive", message = the risk.
std::vector<Error> lintScenario(const Scenario& scenario);

}  // namespace oom
