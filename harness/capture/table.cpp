// The capture as a table for a terminal: host, services, likeliest victims, kills.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "capture/output.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

std::string utcText(double realtime) {
  const std::time_t t = static_cast<std::time_t>(realtime);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string line(const char* format, auto... args) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

// "45s", "9min", "3h": how long ago, to the unit that reads well.
std::string agoText(double seconds) {
  if (seconds < 120) return std::to_string(static_cast<long>(seconds)) + "s";
  if (seconds < 2 * 3600) return std::to_string(static_cast<long>(seconds / 60)) + "min";
  return std::to_string(static_cast<long>(seconds / 3600)) + "h";
}

std::string orDash(const std::optional<std::string>& v) { return v ? *v : "-"; }

}  // namespace

std::string captureTable(const HostCapture& c, std::size_t top) {
  std::string out;
  out += "host " + printable(c.hostname.empty() ? "?" : c.hostname) + ": " + printable(c.os) + ", systemd " +
         printable(c.systemd_version) + ", up " + agoText(c.uptime_sec) + "\n";
  out += "  memory " + formatSize(c.mem_total_bytes) + " (available " + formatSize(c.mem_available_bytes) +
         "), swap " + formatSize(c.swap_total_bytes) + "; captured " + utcText(c.captured_at) + "\n\n";

  out += "services (effective settings from systemd; memory is MemoryCurrent)\n";
  // The unit column is as wide as the longest name (systemd-tmpfiles-setup-dev.service), within reason.
  int width = 24;
  for (const auto& s : c.services) width = std::max(width, std::min(64, static_cast<int>(printable(s.unit).size())));
  for (const auto& p : c.victims) width = std::max(width, std::min(64, static_cast<int>(printable(p.unit).size())));
  out += line("  %-*s %-16s %10s %5s %6s %-9s %-12s %-10s %-10s %s\n", width, "unit", "state", "memory", "procs",
              "adjust", "OOMPolicy", "Restart", "RestartSec", "MemoryHigh", "MemoryMax");
  for (const auto& s : c.services) {
    out += line("  %-*s %-16s %10s %5u %6s %-9s %-12s %-10s %-10s %s\n", width, printable(s.unit).c_str(),
                printable(s.active_state + "/" + s.sub_state).c_str(),
                s.memory_current ? formatSize(*s.memory_current).c_str() : "?", s.processes,
                orDash(s.setting("OOMScoreAdjust")).c_str(), orDash(s.setting("OOMPolicy")).c_str(),
                orDash(s.setting("Restart")).c_str(), orDash(s.setting("RestartSec")).c_str(),
                orDash(s.setting("MemoryHigh")).c_str(), orDash(s.setting("MemoryMax")).c_str());
    std::string more;
    for (const auto& p : s.settings)
      if (p.name != "OOMScoreAdjust" && p.name != "OOMPolicy" && p.name != "Restart" && p.name != "RestartSec" &&
          p.name != "MemoryHigh" && p.name != "MemoryMax")
        more += (more.empty() ? "" : " ") + p.name + "=" + p.value;
    if (!more.empty()) out += "      also " + printable(more) + "\n";
  }
  if (c.services.empty()) out += "  (none)\n";

  out += "\nlikely victim order now (the kernel's oom_score, highest first; oom_score_adj -1000: never)\n";
  out += line("  %5s %8s %-16s %-*s %9s %13s %10s\n", "rank", "pid", "comm", width, "unit", "oom_score",
              "oom_score_adj", "rss");
  std::size_t shown = 0;
  for (const auto& p : c.victims) {
    if (top && shown == top) break;
    const bool never = p.oom_score_adj == -1000;
    out += line("  %5s %8d %-16s %-*s %9d %13d %10s\n", never ? "never" : std::to_string(shown + 1).c_str(), p.pid,
                printable(p.comm).c_str(), width, printable(p.unit.empty() ? p.cgroup : p.unit).c_str(), p.oom_score,
                p.oom_score_adj, formatSize(p.rss_bytes).c_str());
    ++shown;
  }
  if (top && c.victims.size() > shown)
    out += "  ... " + std::to_string(c.victims.size() - shown) + " more processes (--top 0 lists all)\n";

  out += "\nrecent OOM kills (kernel log and journal)\n";
  for (const auto& k : c.kills) {
    if (k.source == "kernel")
      out += line("  kernel  %.1fs after boot (%s ago): pid %d (%s) of %s, oom_score_adj %d, %s\n", k.t,
                  agoText(c.uptime_sec > k.t ? c.uptime_sec - k.t : 0).c_str(), k.pid,
                  printable(k.comm).c_str(), printable(k.unit.empty() ? "?" : k.unit).c_str(), k.oom_score_adj,
                  printable(k.constraint.empty() ? "constraint unknown" : k.constraint).c_str());
    else
      out += "  " + line("%-7s", k.source.c_str()) + " " + utcText(k.t) + ": " + printable(k.text) + "\n";
  }
  if (c.kills.empty()) out += "  (none in the kernel log or journal)\n";

  if (!c.notes.empty()) {
    out += "\nnotes\n";
    for (const auto& n : c.notes) out += "  " + printable(n) + "\n";
  }
  return out;
}

}  // namespace oom
