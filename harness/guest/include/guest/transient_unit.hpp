#pragma once
// A planned unit as StartTransientUnit receives it: the plan's directives converted
// by the directive table, a Description naming the service and its reason.
#include "live/bus.hpp"
#include "oom/expected.hpp"
#include "plan/guest_plan.hpp"

namespace oom {

Expected<TransientUnitSpec> transientUnitSpec(const PlannedUnit& unit);

}  // namespace oom
