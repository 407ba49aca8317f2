#pragma once
// What systemd does after an invocation ends, as far as oomharness relies on it:
// whether Restart= restarts a unit after a given Result=, and which systemd
// versions may report a later OOM kill of a restarted unit as Result=signal.
// Source: docs/kernel-and-systemd.md#restart-and-the-oom-kill-result (systemd 252's
// service_shall_restart()) and #result-signal-after-a-restart (seen on 252).
#include <string_view>

namespace oom {

// Restart= as written ("" when unset: systemd's default, "no").
inline bool restartsAfter(std::string_view restart, std::string_view result) {
  if (result == "start-limit-hit") return false;  // systemd gave up; no Restart= brings it back
  if (restart == "always") return true;
  if (restart == "on-watchdog") return result == "watchdog";
  if (restart == "" || restart == "no") return false;
  if (restart == "on-success") return result == "success";
  if (restart == "on-failure") return result != "success";
  if (restart == "on-abnormal") return result == "signal" || result == "core-dump" || result == "timeout" ||
                                       result == "watchdog" || result == "oom-kill";
  if (restart == "on-abort") return result == "signal" || result == "core-dump";
  return false;
}

// systemd versions seen to report some OOM kills after a unit's first restart as
// Result=signal with no "killed by the OOM killer" message (252 on bookworm).
inline bool reportsLaterOomKillsAsSignal(int systemd_major) { return systemd_major > 0 && systemd_major <= 252; }

// The leading number of a version string: "252.39-1~deb12u2", "252 (252.31-1)" -> 252; 0 if none.
inline int systemdMajor(std::string_view version) {
  int major = 0;
  std::size_t i = 0;
  while (i < version.size() && version[i] >= '0' && version[i] <= '9' && major < 100000)
    major = major * 10 + (version[i++] - '0');
  return major;
}

}  // namespace oom
