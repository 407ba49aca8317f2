#pragma once
// What binds a recorded timeline to the plan that produced it. The guest writes the
// plan's facts and their fingerprint in its `plan` record (timeline.hpp); the host
// computes the same from the scenario it is asked to judge the timeline against,
// and compares (checks/binding.hpp).
//
// The facts are what the run tested, named by the scenario's own keys so that a
// difference points at the line to look at: "guest.memory", "guest.swap",
// "systemd_oomd.SwapUsedLimit", "time_limit", "services.api.unit.OOMScoreAdjust",
// "services.api.load", "probes.health.http" (and each probe's interval, timeout,
// status, output, service). The expectations, `why` and `description` are not facts:
// a timeline may be judged again against edited expectations without being refused.
#include <map>
#include <string>

#include "plan/guest_plan.hpp"

namespace oom {

// Field -> value as the scenario would write it ("768M", "on", "--target 200M --rate 50M/s").
using PlanFacts = std::map<std::string, std::string>;

PlanFacts planFacts(const GuestPlan& plan);

// FNV-1a 64 of the facts' canonical JSON (keys sorted, compact), as 16 hex digits.
// Not cryptographic: it guards against judging a recording with the wrong scenario by
// mistake, not against someone forging a timeline (who could write any facts).
std::string planFingerprint(const PlanFacts& facts);

}  // namespace oom
