#pragma once
// Units from real files (docs/unit-files.md): the guest writes the user's unit
// file, drop-ins and the harness drop-in where systemd reads them, stands in for
// hard dependencies the guest does not have, and afterwards collects what
// systemd logged about those files (a key it does not know, a value it refused):
// nothing in them may be ignored silently.
#include <cstdint>
#include <string>
#include <vector>

#include "live/sysfs.hpp"
#include "oom/expected.hpp"
#include "plan/guest_plan.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// Where systemd stands in for a missing dependency: runtime units, gone at reboot.
inline constexpr const char* kStubUnitDir = "run/systemd/system";

// Writes every file of `unit` below the SysFs root (folders created). Then, for each
// hard dependency (Requires=, Requisite=, BindsTo=) that no unit folder has, writes a
// stand-in that does nothing (services and targets only) and returns its description.
Expected<std::vector<std::string>> installUnitFiles(const SysFs& fs, const PlannedUnit& unit);

// The journal's CONFIG_FILE/CONFIG_LINE entries for `paths` since `since_realtime_usec`:
// "path:line: message", in the journal's order.
std::vector<std::string> unitFileWarnings(const std::vector<std::string>& paths, std::uint64_t since_realtime_usec);

// The UnitSetup lines for a unit's files (unit_files, effective, overridden, ...).
void describeUnitFiles(const PlannedUnit& unit, UnitSetup& setup);

}  // namespace oom
