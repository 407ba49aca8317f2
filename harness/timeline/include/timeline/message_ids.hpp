#pragma once
// The systemd journal MESSAGE_IDs a "journal" record may carry: the guest keeps
// entries about a planned unit with one of these (guest/journal_filter.hpp) and
// the checks look records up by them. Names as in systemd's
// src/systemd/sd-messages.h (SD_MESSAGE_*), the same in systemd 252..257; the
// catalog text and fields are in docs/kernel-and-systemd.md.
#include <array>
#include <string_view>

namespace oom {

// "x.service: A process of this unit has been killed by the OOM killer."
inline constexpr const char* kMsgUnitOutOfMemory = "fe6faa94e7774663a0da52717891d8ef";
// "x.service: Failed with result 'oom-kill'." (UNIT_RESULT)
inline constexpr const char* kMsgUnitFailureResult = "d9b373ed55a64feb8242e02dbe79a49c";
// "x.service: Scheduled restart job, restart counter is at N." (N_RESTARTS)
inline constexpr const char* kMsgUnitRestartScheduled = "5eb03494b6584870a536b337290809b3";
// "x.service: Main process exited, code=killed, status=9/KILL" (EXIT_CODE, EXIT_STATUS)
inline constexpr const char* kMsgUnitProcessExit = "98e322203f7a4ed290d09fe03c09fe15";
// Start job done (JOB_TYPE, JOB_RESULT).
inline constexpr const char* kMsgUnitStarted = "39f53479d3a045ac8e11786248231fbf";
// Start job failed (JOB_RESULT); not the unit entering "failed".
inline constexpr const char* kMsgUnitFailed = "be02cf6855d2428ba40df7e9d022f03d";
// Stop job done.
inline constexpr const char* kMsgUnitStopped = "9d1aaa27d60140bd96365438aad20286";
// "x.service: Deactivated successfully."
inline constexpr const char* kMsgUnitSuccess = "7ad2d189f7e94e70a38c781354912448";
// A process of the unit could not be started.
inline constexpr const char* kMsgSpawnFailed = "641257651c1b4ec9a8624d7a40a9e1e7";
// systemd-oomd killed processes of the unit.
inline constexpr const char* kMsgUnitOomdKill = "d989611b15e44c9dbf31e3c81256e4ed";

// Every ID above: the entries the guest keeps as evidence.
// systemd-oomd's own unit: its "Killed <cgroup> due to ..." messages say why it killed,
// and the ranking it logs just before ("Considered 11 cgroups for killing, top
// candidates were:", then one entry per line: "\tPath: /x.slice/y.service",
// "\t\tSwap Usage: 170.8M") says whom it weighed. Journal records of both carry
// SOURCE=systemd-oomd.service.
inline constexpr const char* kOomdUnit = "systemd-oomd.service";
inline constexpr std::string_view kOomdKillPrefix = "Killed ";
inline constexpr std::string_view kOomdRankingPrefix = "Considered ";

// Podman's events about a container of one of the scenario's units (journald is its
// default events logger): journal records with SOURCE=podman and the event's
// PODMAN_EVENT ("create", "init", "start", "died", "restart", ...) and PODMAN_ID.
inline constexpr const char* kPodmanSource = "podman";
inline constexpr const char* kPodmanEventStart = "start";
inline constexpr const char* kPodmanEventDied = "died";
inline constexpr const char* kPodmanEventRestart = "restart";
inline constexpr const char* kPodmanEventRemove = "remove";

// systemd-oomd's "Killed /x.slice/y.service due to ..." line.
inline bool isOomdKillLine(std::string_view message) { return message.substr(0, kOomdKillPrefix.size()) == kOomdKillPrefix; }
// A line of systemd-oomd's ranking: its header, or an indented candidate line.
inline bool isOomdRankingLine(std::string_view message) {
  if (message.substr(0, kOomdRankingPrefix.size()) == kOomdRankingPrefix)
    return message.find(" cgroups for killing") != std::string_view::npos;
  return !message.empty() && (message.front() == '\t' || message.front() == ' ');
}

inline constexpr std::array<const char*, 10> kUnitMessageIds = {
    kMsgUnitOutOfMemory, kMsgUnitFailureResult, kMsgUnitRestartScheduled, kMsgUnitProcessExit,
    kMsgUnitStarted,     kMsgUnitFailed,        kMsgUnitStopped,          kMsgUnitSuccess,
    kMsgSpawnFailed,     kMsgUnitOomdKill};

}  // namespace oom
