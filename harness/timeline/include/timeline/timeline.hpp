#pragma once
// What the guest observer saw, as evidence. The observer streams each record as
// one JSON line {"type": "...", ...} over the results channel while it runs, so a
// guest that dies still leaves what it saw; the host folds the lines back into a
// Timeline. Field names are the kernel's and systemd's own words.
//
// Clock: every `t` is CLOCK_MONOTONIC seconds in the guest (the kernel log's and
// the journal's monotonic clock), so kernel and systemd events order correctly.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace oom {

// Each record's "type": the writer (the guest agent) and the reader
// (applyStreamLine) both use these, and so does evidence citing a record.
inline constexpr const char* kRecordGuest = "guest";            // GuestInfo, first
inline constexpr const char* kRecordPlan = "plan";              // PlanRecord, right after the guest record
inline constexpr const char* kRecordUnitSetup = "unit_setup";   // UnitSetup
inline constexpr const char* kRecordOomKill = "oom_kill";       // KernelOomKill
inline constexpr const char* kRecordUnitState = "unit_state";   // UnitStateChange
inline constexpr const char* kRecordJournal = "journal";        // JournalRecord
inline constexpr const char* kRecordSample = "sample";          // MemorySample
inline constexpr const char* kRecordPhase = "phase";            // Phase
inline constexpr const char* kRecordKmsg = "kmsg";              // {"t", "line"}: an OOM-related kernel line
inline constexpr const char* kRecordGuestSample = "guest_sample"; // GuestSample
inline constexpr const char* kRecordObserverGap = "observer_gap"; // ObserverGap
inline constexpr const char* kRecordLoss = "loss";                // Loss
inline constexpr const char* kRecordOomd = "oomd";                // OomdStatus: `oomctl` before pressure and at the end
inline constexpr const char* kRecordProbe = "probe";              // ProbeAttempt: one attempt of a scenario's probe
inline constexpr const char* kRecordContainer = "container";      // ContainerRecord: Podman's view of one container
// {"type":"end","status":N}, last. Its absence means the guest died.
inline constexpr const char* kRecordEnd = "end";

// The runner's milestones, a Phase's name, in the order they happen.
inline constexpr const char* kPhaseUnitsInstalled = "units_installed";      // unit files written, systemd reloaded
inline constexpr const char* kPhaseContainerImage = "container_image";      // detail: the image imported, how long
inline constexpr const char* kPhaseUnitsStarting = "units_starting";        // the scenario's units asked to start:
                                                                             // from here on, the scenario's own time
inline constexpr const char* kPhaseUnitsStarted = "units_started";          // every start job done
inline constexpr const char* kPhaseSettingsVerified = "settings_verified";  // every unit_setup without mismatches
inline constexpr const char* kPhasePressure = "pressure";                   // observation of the pressure begins
inline constexpr const char* kPhaseSettled = "settled";                     // decisive kills seen, then quiet
inline constexpr const char* kPhaseTimeLimit = "time_limit";                // or: the time limit ended it
inline constexpr const char* kPhaseSetupFailed = "setup_failed";            // instead of the above; detail says why
// During the pressure, once per load driver (detail: its unit, and why it failed).
inline constexpr const char* kPhaseDriveStarted = "drive_started";
inline constexpr const char* kPhaseDriveFailed = "drive_failed";

struct GuestInfo {
  std::string os_release;        // PRETTY_NAME from /etc/os-release
  std::string kernel;            // uname -r
  std::string systemd_version;   // e.g. "252 (252.39-1~deb12u1)"
  std::string cgroup_controllers;// /sys/fs/cgroup/cgroup.controllers
  std::uint64_t mem_total_bytes = 0;
  std::uint64_t swap_total_bytes = 0;
  std::uint64_t mem_available_at_start_bytes = 0;  // before any unit started
  int swappiness = -1;                             // /proc/sys/vm/swappiness once set up; -1 unread
  std::string swap_areas;  // /proc/swaps: "/dev/zram0 (partition, 512MiB)"; "" without swap or in older records
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GuestInfo, os_release, kernel, systemd_version,
                                                cgroup_controllers, mem_total_bytes,
                                                swap_total_bytes, mem_available_at_start_bytes, swappiness,
                                                swap_areas)

// "type": "plan" — the GuestPlan the guest executes, as the facts a verdict depends on
// (plan/fingerprint.hpp: "guest.memory" -> "768M", "services.api.unit.OOMScoreAdjust"
// -> "500", ...) and their fingerprint, so the host can refuse to judge the timeline
// against another scenario and say what differs. Timelines recorded before this
// record existed have none (fingerprint "").
struct PlanRecord {
  double t = 0;
  std::string fingerprint;                   // planFingerprint(facts): 16 hex digits
  std::map<std::string, std::string> facts;  // field -> value, as the scenario writes it
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PlanRecord, t, fingerprint, facts)

// A process seen in a unit's cgroup while verifying settings before pressure.
struct ProcessSetting {
  int pid = 0;
  std::string comm;
  int oom_score_adj = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProcessSetting, pid, comm, oom_score_adj)

// "type": "unit_setup" — a unit as systemd reports it after start, before pressure.
struct UnitSetup {
  double t = 0;
  std::string unit;
  std::string systemd_run;                    // copied from the plan
  std::map<std::string, std::string> applied; // directive -> value as systemd shows it
  std::vector<ProcessSetting> processes;      // every pid in the unit's cgroup
  std::vector<std::string> mismatches;        // human sentences; empty when all applied
  std::string control_group;                  // "/system.slice/api.service"
  // Processes the kernel had OOM-killed in the unit before the check (counted
  // towards the processes expected, their adjustment taken from the kill lines).
  unsigned killed_before_check = 0;
  // A unit from real unit files (empty for a transient unit), each line citing its
  // file and line (docs/unit-files.md):
  std::vector<std::string> unit_files;      // "/etc/systemd/system/api.service (from units/api.service)"
  std::vector<std::string> effective;       // "OOMScoreAdjust=600 (units/api.service.d/20-oom.conf:2)"
  std::vector<std::string> overridden;      // assignments a later one replaced, same form
  std::vector<std::string> neutralized;     // set in the files, replaced or reset by the harness drop-in
  std::vector<std::string> passed_through;  // outside the directive table, left to systemd
  std::vector<std::string> stubs;           // stand-ins written for hard dependencies the guest lacks
  std::vector<std::string> systemd_warnings;// what systemd logged about the files ("file:line: message")
  // The unit's cgroup files that enforce its memory settings, as the kernel shows them
  // (kCgroupLimitFiles: "memory.high" -> "3145728" or "max"); a file that could not be
  // read is left out. Absent in older records.
  std::map<std::string, std::string> cgroup;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(UnitSetup, t, unit, systemd_run, applied, processes,
                                                mismatches, control_group, killed_before_check, unit_files,
                                                effective, overridden, neutralized, passed_through, stubs,
                                                systemd_warnings, cgroup)

// "type": "oom_kill" — one victim chosen or group-killed by the kernel (deduplicated by pid).
struct KernelOomKill {
  double t = 0;                  // kernel log timestamp of the "Killed process" line
  int pid = 0;
  std::string comm;
  // The victim's title as the observer last sampled it (ProcessSample::cmdline):
  // "nginx: worker process". "" when it never sampled the pid.
  std::string cmdline;
  std::string task_memcg;        // "/system.slice/report-worker.service"
  std::string unit;              // attributed from task_memcg; "" when not a unit
  std::string constraint;        // CONSTRAINT_NONE (global) or CONSTRAINT_MEMCG
  std::string oom_memcg;         // for memcg OOMs: the cgroup whose limit was hit
  std::string invoker_comm;      // "<comm> invoked oom-killer"
  int invoker_pid = 0;
  std::uint64_t total_vm_kb = 0, anon_rss_kb = 0, file_rss_kb = 0, shmem_rss_kb = 0;
  int oom_score_adj = 0;
  bool group_kill = false;       // killed as a member of a memory.oom.group cgroup, not chosen
  std::vector<std::string> lines;// the kernel log lines this record was built from
  // How `unit` was found: "" from the kernel's own report (task_memcg); "pid" the
  // kernel printed no report for this kill (it prints at most 10 in 5 s, then only
  // "Killed process"), so the unit is the one the observer last sampled the pid in;
  // "unknown" neither (unit and task_memcg empty: the kill could be anyone's).
  std::string attribution;
  double seen_t = 0;             // guest monotonic time the observer emitted it (0: older records)
};
inline constexpr const char* kAttributionByPid = "pid";
inline constexpr const char* kAttributionUnknown = "unknown";
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(KernelOomKill, t, pid, comm, cmdline, task_memcg, unit,
                                                constraint, oom_memcg, invoker_comm, invoker_pid,
                                                total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb,
                                                oom_score_adj, group_kill, lines, attribution, seen_t)

// "type": "container" — one container a service's unit ran (`podman run`), as Podman
// shows it (`podman inspect`) and, while it ran, as the kernel shows its processes.
// Written once per container when its unit is verified (when "setup") and once more
// for every container of the service at the end ("end": restarts are new containers).
// Podman's words are one witness among others: its OOMKilled is false for a kill
// inside the container's limit on bookworm (docs/containers.md#5).
inline constexpr const char* kContainerAtSetup = "setup";
inline constexpr const char* kContainerAtEnd = "end";
struct ContainerRecord {
  double t = 0;
  std::string when;                // kContainerAtSetup or kContainerAtEnd
  std::string service, unit;       // the scenario's service, its unit
  std::string id;                  // Podman's container id (64 hex digits)
  std::string name;                // Podman's name for it
  std::string status;              // State.Status: "running", "exited", ...
  int pid = 0;                     // State.Pid (0 once it has exited)
  int conmon_pid = 0;              // State.ConmonPid
  int exit_code = 0;               // State.ExitCode (137: SIGKILL)
  bool oom_killed = false;         // State.OOMKilled
  unsigned restart_count = 0;      // RestartCount: restarts by Podman's own --restart
  std::string started_at, finished_at;  // State.StartedAt / FinishedAt (Podman's wall clock)
  std::string cgroup;              // State.CgroupPath ("" once it has exited, on bookworm)
  // The image it runs: ImageName ("localhost/shop/web:1.4"; "" when not recorded), Image
  // (its ID), and the user its processes run as (Config.User, the image's unless overridden).
  std::string image, image_id, user;
  // What Podman set (HostConfig): --memory, --memory-swap (0: none), --oom-score-adj.
  std::uint64_t memory_bytes = 0, memory_swap_bytes = 0;
  int oom_score_adj = 0;
  // HostConfig.NetworkMode ("none", "host", "bridge"; "" when not recorded) and
  // HostConfig.PortBindings as -p spells them ("127.0.0.1:8080:8080").
  std::string network_mode;
  std::vector<std::string> published;
  // When it was running: the container's own cgroup (the one its main process is in,
  // from /proc/PID/cgroup), that cgroup's memory.max as the kernel enforces it, and
  // the runtime's and the container's processes (conmon, the main process).
  std::string process_cgroup;
  std::string memory_max;
  std::vector<ProcessSetting> processes;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ContainerRecord, t, when, service, unit, id, name, status, pid,
                                                conmon_pid, exit_code, oom_killed, restart_count, started_at,
                                                finished_at, cgroup, image, image_id, user, memory_bytes,
                                                memory_swap_bytes, oom_score_adj, network_mode, published, process_cgroup, memory_max, processes)

// "type": "unit_state" — a PropertiesChanged seen on a unit, with its invocation.
struct UnitStateChange {
  double t = 0;
  std::string unit;
  std::string InvocationID;
  std::string ActiveState;
  std::string SubState;
  std::string Result;
  std::uint32_t NRestarts = 0;
  int MainPID = 0;
  int ExecMainCode = 0;          // CLD_EXITED=1, CLD_KILLED=2, CLD_DUMPED=3
  int ExecMainStatus = 0;
  std::vector<int> pids;         // cgroup.procs at the time of the change
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(UnitStateChange, t, unit, InvocationID,
                                                ActiveState, SubState, Result, NRestarts, MainPID,
                                                ExecMainCode, ExecMainStatus, pids)

// "type": "journal" — a systemd message about a unit that matters to the verdict.
struct JournalRecord {
  double t = 0;
  std::string unit;
  std::string MESSAGE_ID;
  std::string MESSAGE;
  std::string INVOCATION_ID;
  std::map<std::string, std::string> fields;  // UNIT_RESULT, N_RESTARTS, EXIT_CODE, EXIT_STATUS...
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(JournalRecord, t, unit, MESSAGE_ID, MESSAGE,
                                                INVOCATION_ID, fields)

// A journal record that is one of Podman's events (SOURCE=podman, message_ids.hpp):
// its event ("died") and container id; both empty for any other record.
struct PodmanEvent {
  std::string_view event;
  std::string_view id;
  explicit operator bool() const { return !event.empty(); }
};
PodmanEvent podmanEvent(const JournalRecord& j);

struct ProcessSample {
  int pid = 0;
  std::string comm;
  int oom_score = 0;
  int oom_score_adj = 0;
  std::uint64_t rss_bytes = 0;
  // The title the program gives itself (/proc/PID/cmdline, arguments joined by
  // spaces, at most kProcessTitleMax bytes): "nginx: worker process" where comm
  // is "nginx". "" when it could not be read (a kernel thread, a zombie) or was
  // not recorded (streams before issue 24).
  std::string cmdline;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProcessSample, pid, comm, cmdline, oom_score, oom_score_adj,
                                                rss_bytes)
inline constexpr std::size_t kProcessTitleMax = 160;

// How reports and verdicts name a process: its comm, and its title too when the
// program gave itself one ("nginx \"nginx: worker process\""). A title that is
// only the program's exec line (its first word's file name starts with comm, which
// the kernel cuts at 15 bytes: "/usr/sbin/oomstress --target 1G") adds nothing
// and is left out. Both are guest text: the caller escapes them for its medium.
std::string processLabel(std::string_view comm, std::string_view title);

// The cgroup files a "sample" reads, as named in its `unavailable`.
inline constexpr const char* kCgroupMemoryCurrent = "memory.current";    // -> memory_current
inline constexpr const char* kCgroupMemoryPeak = "memory.peak";          // -> memory_peak
inline constexpr const char* kCgroupMemorySwapCurrent = "memory.swap.current";  // -> memory_swap_current
inline constexpr const char* kCgroupMemoryEvents = "memory.events";      // -> memory_events
inline constexpr const char* kCgroupMemoryPressure = "memory.pressure";  // -> pressure_*_avg10
inline constexpr const char* kCgroupProcs = "cgroup.procs";              // -> processes

// "type": "sample" — one unit's cgroup files and processes at time t.
// A file the guest could not read is never recorded as 0: it is named in
// `unavailable` with why ("absent": the kernel lacks it, e.g. memory.peak on
// older kernels; else the read's strerror), and the fields it feeds are left out
// of the record. A reader gets their defaults (0, empty) back, so check
// isAvailable() before trusting a 0. Records from before `unavailable` existed
// carry every field and no such key, as before.
struct MemorySample {
  double t = 0;
  std::string unit;
  std::uint64_t memory_current = 0;
  std::uint64_t memory_peak = 0;
  // Swap the cgroup holds: what systemd-oomd ranks candidates by for ManagedOOMSwap=.
  // Unset in records from before it was read, or when the file gave no value.
  std::optional<std::uint64_t> memory_swap_current;
  std::map<std::string, std::uint64_t> memory_events;   // low high max oom oom_kill oom_group_kill
  double pressure_some_avg10 = 0, pressure_full_avg10 = 0;
  std::vector<ProcessSample> processes;
  // cgroup file (kCgroup*), or "proc/PID/FILE" of a process left out, -> why.
  std::map<std::string, std::string> unavailable;

  bool isAvailable(const char* cgroup_file) const { return unavailable.count(cgroup_file) == 0; }
};
void to_json(nlohmann::json& j, const MemorySample& s);
void from_json(const nlohmann::json& j, MemorySample& s);

// "type": "phase" — the runner's own milestones (kPhase* above). The end of the
// stream is the "end" record, not a phase.
struct Phase {
  double t = 0;
  std::string name;
  std::string detail;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Phase, t, name, detail)

// The guest-wide files a "guest_sample" reads, as named in its `unavailable`.
inline constexpr const char* kGuestMeminfo = "proc/meminfo";          // -> mem_available_bytes, swap_free_bytes
inline constexpr const char* kGuestVmstat = "proc/vmstat";            // -> oom_kill_total
inline constexpr const char* kGuestPressure = "proc/pressure/memory"; // -> pressure_*_avg10

// "type": "guest_sample" — the whole guest at time t, sampled with the units: the
// evidence that pressure happened (or did not) even when nothing was killed.
struct GuestSample {
  double t = 0;
  std::uint64_t mem_available_bytes = 0;  // /proc/meminfo MemAvailable
  std::uint64_t swap_free_bytes = 0;      // /proc/meminfo SwapFree
  std::uint64_t oom_kill_total = 0;       // /proc/vmstat oom_kill: kernel OOM kills since boot
  double pressure_some_avg10 = 0, pressure_full_avg10 = 0;  // /proc/pressure/memory
  // Files that gave no value ("proc/vmstat"): their fields above are not evidence.
  std::vector<std::string> unavailable;

  bool isAvailable(const char* file) const {
    for (const auto& u : unavailable)
      if (u == file) return false;
    return true;
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GuestSample, t, mem_available_bytes, swap_free_bytes,
                                                oom_kill_total, pressure_some_avg10,
                                                pressure_full_avg10, unavailable)

// "type": "observer_gap" — the observer went without a sample for longer than it
// should (a thrashing guest, a blocked loop). Written when sampling resumes.
struct ObserverGap {
  double t = 0;           // when the gap began (the last sample before it)
  double length_sec = 0;  // from that sample to the next one
  std::string cause;      // kGapSampler or kGapEventLoop, then what the observer knows
};
// How long the sampler may go without a sample before it writes a gap: the guest's
// rule, and the host's for a hole that has no gap record.
inline double sampleGapAfterSec(double interval_sec) { return interval_sec + std::max(interval_sec, 0.5); }
// The sampler (guest-wide and cgroup files) did not run: nothing was measured.
inline constexpr const char* kGapSampler = "sampler late";
// The event loop (D-Bus signals, the journal) was blocked: systemd's records of
// that stretch arrived late and carry the time they were read, not when they happened.
inline constexpr const char* kGapEventLoop = "event loop blocked";
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ObserverGap, t, length_sec, cause)

// "type": "loss" — evidence the observer (or the host) knows it did not get.
//   source "kmsg":    what "sequence_gap" (count = records the kernel overwrote), "epipe"
//   source "journal": what "gap" (entries rotated or dropped), "read_error"
//   source "dbus":    what "error" (a call or signal that failed; detail = the error)
//   source "channel": what "unparsable_line" or "unknown_record" (host side: a results
//                     line not understood; t = -1 when its time could not be read)
struct Loss {
  double t = 0;
  std::string source;
  std::string what;
  std::uint64_t count = 1;
  std::string detail;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Loss, t, source, what, count, detail)

// "type": "oomd" — what systemd-oomd monitors (its `oomctl` dump), read before the
// pressure (when = "before_pressure") and at the end (when = "end").
struct OomdStatus {
  double t = 0;
  std::string when;
  std::string text;                           // oomctl's output as printed
  std::vector<std::string> pressure_cgroups;  // "Memory Pressure Monitored CGroups": their Path: lines
  std::vector<std::string> swap_cgroups;      // "Swap Monitored CGroups"
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OomdStatus, t, when, text, pressure_cgroups, swap_cgroups)

// "type": "probe" — one attempt of a scenario's probe (plan: PlannedProbe), the
// clients' view of a service. Probes start once every unit has started and run to
// the end; the first attempt's t says when they began.
struct ProbeAttempt {
  double t = 0;            // when the attempt began
  std::string probe;       // its name
  bool ok = false;
  double latency_sec = 0;  // from its start to the answer (or to the timeout)
  // "ok", "refused", "timeout", "reset", "status 503", "exit 1", "killed by signal 9",
  // "output lacks \"PONG\"", "unreachable: <strerror>"
  std::string result;
  int status = 0;          // http: the status read (0: none); command: its exit status (-signal when killed)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProbeAttempt, t, probe, ok, latency_sec, result, status)

struct Timeline {
  int version = 1;
  GuestInfo guest;                       // "type": "guest"
  PlanRecord plan;                       // "type": "plan"; fingerprint "" when absent
  std::vector<UnitSetup> setup;
  std::vector<KernelOomKill> kills;
  std::vector<UnitStateChange> states;
  std::vector<JournalRecord> journal;
  std::vector<MemorySample> samples;
  std::vector<Phase> phases;
  std::vector<std::string> raw_kernel_oom_lines;  // "type": "kmsg": every OOM-related kernel line
  std::vector<GuestSample> guest_samples;
  std::vector<ObserverGap> gaps;
  std::vector<Loss> losses;
  std::vector<OomdStatus> oomd;          // empty unless the scenario enables systemd-oomd
  std::vector<ProbeAttempt> probes;      // every probe attempt, in the order they ended; empty without probes
  std::vector<ContainerRecord> containers;  // empty unless a service runs in a container
  bool complete = false;                 // the "end" sentinel arrived
  int guest_status = -1;                 // status carried by the "end" record
  // Bytes applyStreamLine counted against timeline_limits::kMaxTimelineBytes (not
  // written to result.json: a timeline read back from one is not folded again).
  std::uint64_t folded_bytes = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Timeline, version, guest, plan, setup, kills, states,
                                                journal, samples, phases, raw_kernel_oom_lines,
                                                guest_samples, gaps, losses, oomd, probes, containers,
                                                complete, guest_status)

// One streamed line -> record. Each record serialises as its struct plus "type".
nlohmann::json toStreamRecord(const std::string& type, const nlohmann::json& body);

// Folds one streamed JSON line into the timeline. Unknown types and malformed
// lines are skipped, and each becomes a Loss {source "channel", what
// "unparsable_line" or "unknown_record"} (t from the line if readable, else -1):
// a half-written last line must not lose the rest, nor go uncounted. Within
// timeline/limits.hpp: a line over a budget, or a part of it, is left out and
// counted as a Loss {source "channel", what "over_budget"}.
// Returns false when the line was not understood or not folded.
bool applyStreamLine(Timeline& timeline, const std::string& line);

}  // namespace oom
