#pragma once
// The runner: executes a GuestPlan. Starts every unit as a transient unit,
// verifies that systemd and the kernel apply the settings, lets pressure happen
// while the observer records, and decides when the observation is over.
#include "live/bus.hpp"
#include "guest/record_sink.hpp"
#include "live/sysfs.hpp"
#include "plan/guest_plan.hpp"

namespace oom {

// The "end" record's status, also the process exit status.
enum GuestStatus : int {
  kGuestObserved = 0,      // observation completed (settled or time limit)
  kGuestUsage = 2,         // bad command line or plan file
  kGuestInfraError = 3,    // bus, kernel log or journal unavailable
  kGuestSetupFailed = 4,   // a unit did not start, or its settings were not applied
};

int executePlan(const GuestPlan& plan, RecordSink& sink, Bus& bus, const SysFs& fs);

}  // namespace oom
