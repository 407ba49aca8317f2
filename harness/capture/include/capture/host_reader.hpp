#pragma once
// Reading a live host for `capture`: the read-only half. Files come through
// SysFs (rooted, so tests give it a fixture /proc); systemd through the Bus.
// Nothing here writes, signals or starts anything.
#include <string>
#include <string_view>
#include <vector>

#include "capture/capture.hpp"
#include "live/bus.hpp"
#include "live/sysfs.hpp"
#include "oom/expected.hpp"

namespace oom {

// Every user-space process under proc/ (kernel threads, which have no VmRSS and
// are never chosen, are left out), with its unit from proc/PID/cgroup, ranked by
// rankVictims. A process that exits while being read is skipped; a file that
// fails otherwise is named in `notes`.
std::vector<CapturedProcess> readProcesses(const SysFs& fs, std::vector<std::string>& notes);

// "0::/system.slice/api.service\n" (the cgroup v2 line of proc/PID/cgroup) ->
// "/system.slice/api.service"; on a cgroup v1 host, the "name=systemd" line's
// path; "" when the process has neither.
std::string cgroupV2Path(std::string_view proc_cgroup);

// Kernel OOM kills in /dev/kmsg records ("pri,seq,usec,flags;text"), oldest first.
std::vector<CapturedKill> kernelKills(const std::vector<std::string>& kmsg_records);

// Hostname, os-release, uptime and meminfo from the (rooted) files.
void readHostFacts(const SysFs& fs, HostCapture& capture);

struct CaptureScope {
  bool all = false;  // also loaded services that are not running
};

// The whole capture of the host `fs` and `bus` describe: services (D-Bus), the
// processes, kills from the kernel log (dev/kmsg under the root) and the journal.
// Fails only when systemd cannot be asked at all; everything else missing is a note.
Expected<HostCapture> captureHost(const SysFs& fs, Bus& bus, const CaptureScope& scope);

// Why this host cannot be captured, or "" when it can: PID 1 must be systemd
// (proc/1/comm) and its bus reachable.
std::string whyNotSystemd(const SysFs& fs);

}  // namespace oom
