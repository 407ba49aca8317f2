#pragma once
// A capture of a small host, as captureHost() would give it: two services (one
// OOM-exempt), three processes, a kernel kill and a journal entry.
#include "capture/capture.hpp"
#include "oom/units.hpp"

namespace oom::test {

inline HostCapture recordedCapture() {
  HostCapture c;
  c.hostname = "web1";
  c.os = "Debian GNU/Linux 12 (bookworm)";
  c.os_codename = "bookworm";
  c.systemd_version = "252.30-1~deb12u2";
  c.uptime_sec = 600;
  c.mem_total_bytes = 4 * GiB;
  c.mem_available_bytes = 3 * GiB;
  CapturedService a;
  a.unit = "worker.service";
  a.load_state = "loaded";
  a.active_state = "active";
  a.sub_state = "running";
  a.memory_current = 80 * MiB + 12345;
  a.processes = 2;
  a.settings = {{"OOMScoreAdjust", "600"}, {"OOMPolicy", "kill"}, {"Restart", "on-failure"}, {"RestartSec", "5s"},
                {"KillMode", "mixed"}, {"MemoryMax", "200M"}};
  a.fragment_path = "/etc/systemd/system/worker.service";
  CapturedService b = a;
  b.unit = "guard.service";
  b.memory_current = 300 * MiB;
  b.processes = 1;
  b.settings = {{"OOMScoreAdjust", "-1000"}, {"OOMPolicy", "stop"}, {"Restart", "no"}};
  c.services = {b, a};
  c.victims = {{330, "worker", 712, 600, 80 * MiB, "/system.slice/worker.service", "worker.service"},
               {600, "bash", 9, 0, 4 * MiB, "/user.slice/user-0.slice/session-1.scope", "session-1.scope"},
               {500, "guard", 0, -1000, 300 * MiB, "/system.slice/guard.service", "guard.service"}};
  c.kills = {{"kernel", 30.1, "worker.service", 310, "eat", 600, "CONSTRAINT_NONE", "Out of memory: Killed process 310"},
             {"journal", 1764428400, "worker.service", 0, "", 0, "",
              "worker.service: A process of this unit has been killed by the OOM killer."}};
  return c;
}

}  // namespace oom::test
