#pragma once
// Is this timeline a recording of this scenario? A timeline judged against another
// scenario with the same unit names would pass or fail for nothing (issue 22), so
// `evaluate` refuses it (exit 2) unless asked to re-judge, and a re-judged verdict says
// so (the note.rejudged check).
//
// A timeline with a `plan` record is bound by it: its facts (plan/fingerprint.hpp)
// must equal the facts of the plan the scenario gives, field by field.
// A timeline recorded before that record existed is bound by the evidence it carries:
//   guest.memory     MemTotal at most the planned memory and at least that less what the
//                    kernel keeps for itself (its image, struct pages, reserved ranges):
//                    max(128 MiB, 1/8 of it); 43-56 MiB in the recordings of 512M-1G guests
//   guest.swap       SwapTotal at most the planned swap and at least that less 1 MiB (the
//                    swap area's header page); guest.swap_kind from /proc/swaps when recorded
//   guest.swappiness the value read once set up (the kernel's own, 60, when the plan sets none)
//   systemd_oomd     oomd records present once the run reached its pressure phase, and
//                    oomctl's limits against oomd.conf's (systemd-oomd's defaults when unset)
//   services.*       each unit_setup's systemd-run line (copied from the plan: the unit's
//                    properties and oomstress's flags), the values systemd read back and each
//                    process's oom_score_adj (the setup check's own comparison), the unit set
// guest.cpus and time_limit leave no trace in those records and are not compared.
#include <string>
#include <vector>

#include "plan/guest_plan.hpp"
#include "timeline/timeline.hpp"

namespace oom {

struct PlanDifference {
  std::string field;     // the scenario's key: "guest.memory", "services.api.unit.OOMScoreAdjust"
  std::string timeline;  // what the timeline says
  std::string scenario;  // what the scenario's plan says
  std::string detail;    // the setup check's own sentence, when the difference came from it
  double t = -1;         // the record that says so
  std::string source;    // its type (kRecord*)
  std::string str() const;  // "<field>: the timeline says X, the scenario says Y"
};

struct PlanBinding {
  std::string by;  // what it was compared by: "its plan record <fingerprint>", or older evidence
  std::vector<PlanDifference> differences;
  bool bound() const { return differences.empty(); }
};

PlanBinding bindTimeline(const GuestPlan& plan, const Timeline& timeline);

// The values one unit_setup record read back against the planned unit (each D-Bus value,
// each process's oom_score_adj), by the guest's own rules (guest/setup_check.hpp): what
// the setup check and the binding both use.
std::vector<PlanDifference> settingDifferences(const PlannedUnit& planned, const UnitSetup& setup);

}  // namespace oom
