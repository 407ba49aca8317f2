#pragma once
// `capture`: what a live host's OOM policy is right now, read without changing
// anything: each loaded service's effective settings and memory (systemd over
// D-Bus), each process's oom_score and oom_score_adj (/proc), recent OOM kills
// (kernel log and journal). A HostCapture is plain data (JSON
// "oomharness-capture/1"); the table, the scenario skeleton and the unit-file
// copy are each made from it (docs/capture.md).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "systemd/directives.hpp"  // UnitProperty, DbusValue

namespace oom {

inline constexpr const char* kCaptureFormat = "oomharness-capture/1";

struct CapturedService {
  std::string unit;                      // "api.service"
  std::string load_state;                // loaded, masked, not-found ...
  std::string active_state, sub_state;   // active/running ...
  std::string control_group;             // "/system.slice/api.service"
  std::optional<std::uint64_t> memory_current;  // MemoryCurrent; unset when systemd does not know
  unsigned processes = 0;                // in its cgroup now
  // Effective values in the scenario's vocabulary (directive names, values as a
  // unit file writes them), only directives oomharness supports, in table order.
  std::vector<UnitProperty> settings;
  std::string fragment_path;             // FragmentPath: the unit file ("" transient or none)
  std::vector<std::string> drop_in_paths;// DropInPaths, in systemd's order

  std::optional<std::string> setting(const std::string& directive) const;
  bool running() const { return active_state == "active" || active_state == "activating" || active_state == "reloading"; }
};
// By hand: memory_current is null when unknown (nlohmann has no std::optional).
void to_json(nlohmann::json& j, const CapturedService& s);
void from_json(const nlohmann::json& j, CapturedService& s);

// One process as the OOM killer sees it now.
struct CapturedProcess {
  int pid = 0;
  std::string comm;
  int oom_score = 0;        // /proc/PID/oom_score: the kernel's own current badness (0-2000)
  int oom_score_adj = 0;
  std::uint64_t rss_bytes = 0;
  std::string cgroup;       // "/system.slice/api.service" (the v2 line of /proc/PID/cgroup)
  std::string unit;         // "api.service", "session-1.scope"; "" when in no unit
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CapturedProcess, pid, comm, oom_score, oom_score_adj, rss_bytes,
                                                cgroup, unit)

// A past OOM kill: from the kernel log ("kernel") or systemd's journal entry
// (MESSAGE_ID fe6faa94..., "journal") or systemd-oomd's (d989611b..., "oomd").
struct CapturedKill {
  std::string source;
  double t = 0;             // kernel: seconds since boot (CLOCK_MONOTONIC); journal: realtime seconds
  std::string unit;
  int pid = 0;              // kernel only
  std::string comm;         // kernel only
  int oom_score_adj = 0;    // kernel only
  std::string constraint;   // kernel only
  std::string text;         // the line it came from
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CapturedKill, source, t, unit, pid, comm, oom_score_adj,
                                                constraint, text)

struct HostCapture {
  std::string format = kCaptureFormat;
  std::string hostname;
  std::string os;                        // PRETTY_NAME
  std::string os_codename;               // VERSION_CODENAME: "bookworm"
  std::string systemd_version;
  double captured_at = 0;                // realtime seconds
  double uptime_sec = 0;
  std::uint64_t mem_total_bytes = 0, mem_available_bytes = 0, swap_total_bytes = 0;
  std::vector<CapturedService> services;     // loaded services, by unit name
  std::vector<CapturedProcess> victims;      // every user-space process, likeliest victim first
  std::vector<CapturedKill> kills;           // oldest first
  std::vector<std::string> notes;            // what could not be read, and why

  const CapturedService* service(const std::string& unit) const;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(HostCapture, format, hostname, os, os_codename, systemd_version, captured_at,
                                                uptime_sec, mem_total_bytes, mem_available_bytes,
                                                swap_total_bytes, services, victims, kills, notes)

// The D-Bus properties of one unit as read (Unit and Service interfaces merged)
// -> its effective settings, in supportedDirectives() order. Only directives the
// scenario vocabulary has; a value oomharness cannot express (a percentage-scaled
// limit, an out-of-range number) is left out and named in `skipped`.
std::vector<UnitProperty> settingsFromProperties(const std::map<std::string, DbusValue>& properties,
                                                 std::vector<std::string>* skipped = nullptr);

// The kernel's choice among processes, as it would be now: highest oom_score first
// (the kernel's own figure, mm/oom_kill.c oom_badness), ties by rss, then pid.
// oom_score_adj -1000 is never chosen: those stay, last, for the table to mark.
void rankVictims(std::vector<CapturedProcess>& processes);

}  // namespace oom
