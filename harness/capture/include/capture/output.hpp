#pragma once
// What `capture` prints or writes, each made from a HostCapture alone (so each
// is tested on a recorded capture): the table, and the scenario skeleton.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/capture.hpp"
#include "oom/expected.hpp"

namespace oom {

// Host facts, the services' settings and memory, the likeliest victims (`top`
// rows; 0: all), recent kills and the notes. Text from the host is printable().
std::string captureTable(const HostCapture& capture, std::size_t top);

// Units present in every guest (systemd's own daemons, dbus, gettys, user
// managers, oomharness's wrapper): a scenario cannot start a transient unit of
// the same name there, and the guest overhead already counts their memory.
bool isInEveryGuest(const std::string& unit);

// A scenario (the format `oomharness check` reads) with the running services
// as services: their settings as `unit`, MemoryCurrent as baseline, process
// count; a guest sized to hold them; and expectations from what the kernel
// would do now (first_killed: the likeliest victim's service; never_killed:
// services whose every process has oom_score_adj -1000), each `why` saying it is
// the current prediction, to edit. Fails (naming why) when no service qualifies.
struct Skeleton {
  nlohmann::ordered_json scenario;
  std::vector<std::string> left_out;  // "systemd-journald.service: in every guest", ...
};
Expected<Skeleton> scenarioSkeleton(const HostCapture& capture);

}  // namespace oom
