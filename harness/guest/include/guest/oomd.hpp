#pragma once
// systemd-oomd in the guest (docs/kernel-and-systemd.md#systemd-oomd). The image
// has it installed and masked; a scenario that asks for it gets it unmasked,
// configured with the scenario's oomd.conf drop-in and started before the units.
// What oomd then monitors is read from `oomctl` and recorded (OomdStatus).
#include <string>
#include <string_view>

#include "guest/command.hpp"
#include "live/sysfs.hpp"
#include "oom/expected.hpp"
#include "timeline/timeline.hpp"

namespace oom {

inline constexpr const char* kOomdConfDropIn = "etc/systemd/oomd.conf.d/oomharness.conf";

// Removes the image's masks (links to /dev/null in etc/systemd/system) and writes
// the configuration. systemd must then be reloaded and the unit started.
Expected<void> prepareOomd(const SysFs& fs, const std::string& conf);

// `oomctl`'s output; an error when it cannot be run or fails. startOomctl leaves
// the waiting to the caller's event loop (Observer::commandOutput); runOomctl waits here.
Expected<ChildCommand> startOomctl();
Expected<std::string> runOomctl();

// The monitored cgroups' "Path:" lines under "Memory Pressure Monitored CGroups:"
// and "Swap Monitored CGroups:" (systemd 252 and 257 print the same layout).
OomdStatus parseOomctl(std::string_view text);

}  // namespace oom
