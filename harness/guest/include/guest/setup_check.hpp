#pragma once
// Before any pressure: did systemd and the kernel apply what the plan asked?
// Pure comparisons of the plan's converted values with what systemd reports and
// what /proc shows, so each sentence a user may read is unit-tested.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "systemd/directives.hpp"
#include "plan/guest_plan.hpp"
#include "timeline/timeline.hpp"

namespace oom {


// "MemoryMax=256M asked, systemd reports MemoryMax=(not reported)"; nullopt when equal.
std::optional<std::string> settingMismatch(const UnitProperty& asked, const DbusProperty& wanted,
                                           const std::optional<DbusValue>& actual);
// The same, from a setup record's `applied` text (the host judging a recorded run): ""
// or absent is not reported.
std::optional<std::string> recordedSettingMismatch(const UnitProperty& asked, const DbusProperty& wanted,
                                                   const std::optional<std::string>& read_back);

// Every process must carry the unit's OOMScoreAdjust (0 when the plan sets none),
// and there must be as many as the stressor was told to run. Processes the kernel
// OOM-killed before the check (a unit that leaks from READY=1 on) count, with the
// oom_score_adj their kill lines gave: `killed_adjustments`.
std::vector<std::string> processMismatches(const std::vector<ProcessSetting>& processes, int expected_adj,
                                           unsigned expected_count, const std::string& control_group,
                                           const std::vector<int>& killed_adjustments = {});

// How many processes the check can still ask for: the plan's, unless the kernel killed
// some before the check and the unit is no longer active (`active_state`, systemd's
// ActiveState then). A killed main process ends the invocation whatever OOMPolicy=, and
// OOMPolicy=stop ends it too: systemd takes the rest, so they cannot be counted, and a
// count short by them is no setting that failed to apply. Those seen and those killed
// are still judged by their oom_score_adj. An ActiveState not read ("") asks for all.
unsigned processesToCount(unsigned planned, std::size_t killed, const std::string& active_state);

// The cgroup files that enforce a unit's memory settings, each with the D-Bus property
// systemd writes it from: what the guest reads back into UnitSetup::cgroup.
struct CgroupLimitFile {
  const char* file;      // "memory.high"
  const char* property;  // "MemoryHigh"; "OOMPolicy" for memory.oom.group (1 for kill)
};
inline constexpr CgroupLimitFile kCgroupLimitFiles[] = {
    {"memory.min", "MemoryMin"},   {"memory.low", "MemoryLow"},
    {"memory.high", "MemoryHigh"}, {"memory.max", "MemoryMax"},
    {"memory.swap.max", "MemorySwapMax"}, {"memory.oom.group", "OOMPolicy"},
};
// What the kernel enforces against what systemd reports, for each property systemd
// reported (`applied`: D-Bus name -> value text) and each file read (`cgroup`): a byte
// limit as the kernel keeps it (a whole number of pages, "max" for infinity), and
// memory.oom.group 1 exactly for OOMPolicy=kill. One per difference.
struct CgroupMismatch {
  std::string property, file;
  std::string kernel, expected;  // what the file reads; what systemd's value makes it
  std::string text;              // the sentence
};
std::vector<CgroupMismatch> cgroupMismatches(const std::map<std::string, std::string>& applied,
                                             const std::map<std::string, std::string>& cgroup);

// The processes that must carry the unit's OOMScoreAdjust: all of them, except in a
// unit that runs a container, where only podman itself does (systemd started it);
// conmon sets its own to -1000 and the container's come from the runtime
// (docs/containers.md#4), recorded in the "container" records instead. In a Quadlet
// unit podman is gone (run detached): there the container's processes carry it,
// unless the file gives --oom-score-adj.
std::vector<ProcessSetting> processesUnderUnitAdjust(const PlannedUnit& unit,
                                                     const std::vector<ProcessSetting>& processes);

// The plan's OOMScoreAdjust for the unit, or 0 (inherited from PID 1).
int expectedOomScoreAdjust(const PlannedUnit& unit);

}  // namespace oom
