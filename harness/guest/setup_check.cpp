#include "guest/setup_check.hpp"

#include <cstdint>

#include "oom/text.hpp"

namespace oom {

namespace {
std::string mismatchText(const UnitProperty& asked, const DbusProperty& wanted, const std::string& reported) {
  return asked.name + "=" + asked.value + " asked (" + wanted.name + "=" + formatDbusValue(wanted.value) +
         "), systemd reports " + wanted.name + "=" + reported;
}
}  // namespace

std::optional<std::string> settingMismatch(const UnitProperty& asked, const DbusProperty& wanted,
                                           const std::optional<DbusValue>& actual) {
  if (actual && *actual == wanted.value) return std::nullopt;  // the D-Bus type counts too
  return mismatchText(asked, wanted, actual ? formatDbusValue(*actual) : "(not reported)");
}

std::optional<std::string> recordedSettingMismatch(const UnitProperty& asked, const DbusProperty& wanted,
                                                   const std::optional<std::string>& read_back) {
  const bool reported = read_back && !read_back->empty();
  if (reported && *read_back == formatDbusValue(wanted.value)) return std::nullopt;
  return mismatchText(asked, wanted, reported ? *read_back : "(not reported)");
}

std::vector<std::string> processMismatches(const std::vector<ProcessSetting>& processes, int expected_adj,
                                           unsigned expected_count, const std::string& control_group,
                                           const std::vector<int>& killed_adjustments) {
  std::vector<std::string> out;
  if (processes.size() + killed_adjustments.size() < expected_count)
    out.push_back(std::to_string(expected_count) + " process(es) expected in " + control_group + ", found " +
                  std::to_string(processes.size()) +
                  (killed_adjustments.empty() ? ""
                                              : " and " + std::to_string(killed_adjustments.size()) +
                                                    " already OOM-killed"));
  for (const int adj : killed_adjustments)
    if (adj != expected_adj) {
      out.push_back("a process OOM-killed in " + control_group + " before the check had oom_score_adj " +
                    std::to_string(adj) + " (its kill line), expected " + std::to_string(expected_adj));
      break;
    }
  for (const auto& p : processes)
    if (p.oom_score_adj != expected_adj)
      out.push_back("pid " + std::to_string(p.pid) + " (" + p.comm + ") has oom_score_adj " +
                    std::to_string(p.oom_score_adj) + ", expected " + std::to_string(expected_adj));
  return out;
}

unsigned processesToCount(unsigned planned, std::size_t killed, const std::string& active_state) {
  // An ActiveState that could not be read is unknown: every process is asked for, as before.
  if (killed == 0 || active_state.empty() || active_state == "active" || active_state == "reloading") return planned;
  return 0;
}

std::vector<ProcessSetting> processesUnderUnitAdjust(const PlannedUnit& unit,
                                                     const std::vector<ProcessSetting>& processes) {
  if (!unit.inContainer()) return processes;
  std::vector<ProcessSetting> out;
  // Quadlet's podman run is detached, gone by now; on trixie conmon restores the value it
  // started with before the runtime runs (docs/containers.md#4), so the container's
  // processes carry the unit's, unless --oom-score-adj gives them their own.
  if (unit.fromQuadlet()) {
    if (unit.container.oom_score_adj.empty())
      for (const auto& p : processes)
        if (p.comm != "conmon") out.push_back(p);
    return out;
  }
  for (const auto& p : processes)
    if (p.comm == "podman") out.push_back(p);
  return out;
}

int expectedOomScoreAdjust(const PlannedUnit& unit) { return oomScoreAdjustOf(unit.properties); }

std::vector<CgroupMismatch> cgroupMismatches(const std::map<std::string, std::string>& applied,
                                             const std::map<std::string, std::string>& cgroup) {
  constexpr std::uint64_t kPage = 4096;  // the kernel keeps byte limits in pages (x86-64)
  std::vector<CgroupMismatch> out;
  for (const auto& [file, property] : kCgroupLimitFiles) {
    const auto systemd = applied.find(property);
    const auto kernel = cgroup.find(file);
    if (systemd == applied.end() || systemd->second.empty() || kernel == cgroup.end()) continue;
    std::string want;
    if (std::string_view(property) == "OOMPolicy") {
      want = systemd->second == "kill" ? "1" : "0";
    } else {
      const auto bytes = leadingNumber<std::uint64_t>(systemd->second);
      if (!bytes) continue;
      want = *bytes == UINT64_MAX ? "max" : std::to_string(*bytes / kPage * kPage);
    }
    if (kernel->second != want)
      out.push_back({property, file, kernel->second, want,
                     std::string(property) + "=" + systemd->second + " as systemd reports it, but the kernel's " +
                         file + " reads " + kernel->second + " (expected " + want + ")"});
  }
  return out;
}

}  // namespace oom
